/*
 * dnn.h: the simulated cuDNN 9 (libcudnn.so.9), internal declarations.
 *
 * Types and numeric values are cuDNN 9's, written from NVIDIA's public API
 * reference (docs.nvidia.com/deeplearning/cudnn/backend/v9.6.0/api/:
 * cudnn_graph, cudnn_ops and cudnn_cnn libraries), never from deepres's code.
 * NVIDIA's headers are not needed (and not used) to build this library.
 *
 * Every computation follows the same pattern, which the contract in
 * ../cudasim.h prescribes: at call time validate the descriptors, check each
 * device range with cudasim_check, read the host scaling factors (alpha/beta
 * are read when the function is called, per the API reference's "Scaling
 * Parameters"), copy every descriptor value into a task struct; then
 * cudasim_enqueue the task on the handle's stream, where cudasim_host gives
 * the host backing store of each device range.
 */
#ifndef CUDASIM_DNN_H
#define CUDASIM_DNN_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../cudasim.h"

#define DNN_API CUDASIM_API

/* cudnnStatus_t (cudnn_graph.h in cuDNN 9, which renumbered the codes). */
typedef int cudnnStatus_t;
enum {
	CUDNN_STATUS_SUCCESS = 0,
	CUDNN_STATUS_NOT_INITIALIZED = 1001,
	CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH = 1002,
	CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH = 1003,
	CUDNN_STATUS_DEPRECATED = 1004,
	CUDNN_STATUS_LICENSE_ERROR = 1005,
	CUDNN_STATUS_RUNTIME_IN_PROGRESS = 1006,
	CUDNN_STATUS_RUNTIME_FP_OVERFLOW = 1007,
	CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED = 1008,
	CUDNN_STATUS_BAD_PARAM = 2000,
	CUDNN_STATUS_INVALID_VALUE = 2001,
	CUDNN_STATUS_BAD_PARAM_NULL_POINTER = 2002,
	CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER = 2003,
	CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED = 2004,
	CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND = 2005,
	CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT = 2006,
	CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH = 2007,
	CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH = 2008,
	CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES = 2009,
	CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE = 2010,
	CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH = 2011,
	CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE = 2012,
	CUDNN_STATUS_NOT_SUPPORTED = 3000,
	CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN = 3001,
	CUDNN_STATUS_NOT_SUPPORTED_SHAPE = 3002,
	CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE = 3003,
	CUDNN_STATUS_NOT_SUPPORTED_LAYOUT = 3004,
	CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER = 3005,
	CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART = 3006,
	CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH = 3007,
	CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING = 3008,
	CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE = 3009,
	CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT = 3010,
	CUDNN_STATUS_NOT_SUPPORTED_PADDING = 3011,
	CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM = 3012,
	CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API = 3013,
	CUDNN_STATUS_INTERNAL_ERROR = 4000,
	CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED = 4001,
	CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE = 4002,
	CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED = 4003,
	CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED = 4004,
	CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM = 4005,
	CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED = 4006,
	CUDNN_STATUS_EXECUTION_FAILED = 5000,
	CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER = 5001,
	CUDNN_STATUS_EXECUTION_FAILED_CUBLAS = 5002,
	CUDNN_STATUS_EXECUTION_FAILED_CUDART = 5003,
	CUDNN_STATUS_EXECUTION_FAILED_CURAND = 5004,
};

/* The version this simulator answers: cudnnGetVersion() encodes
 * major*10000 + minor*100 + patch in cuDNN 9 (cudnn_version.h). */
#define SIM_CUDNN_VERSION 90600
/* cudnnGetCudartVersion(): the CUDA runtime the library was built with,
 * major*1000 + minor*10 (CUDART_VERSION); the simulator says CUDA 13.0. */
#define SIM_CUDART_VERSION 13000

/* cudnnDataType_t, cudnnTensorFormat_t, cudnnMathType_t,
 * cudnnNanPropagation_t, cudnnConvolutionMode_t, cudnnDeterminism_t. */
enum {
	CUDNN_DATA_FLOAT = 0, CUDNN_DATA_DOUBLE = 1, CUDNN_DATA_HALF = 2, CUDNN_DATA_INT8 = 3, CUDNN_DATA_INT32 = 4,
	CUDNN_DATA_INT8x4 = 5, CUDNN_DATA_UINT8 = 6, CUDNN_DATA_UINT8x4 = 7, CUDNN_DATA_INT8x32 = 8, CUDNN_DATA_BFLOAT16 = 9,
};
enum { CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1, CUDNN_TENSOR_NCHW_VECT_C = 2 };
enum { CUDNN_DEFAULT_MATH = 0, CUDNN_TENSOR_OP_MATH = 1, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2, CUDNN_FMA_MATH = 3 };
enum { CUDNN_NOT_PROPAGATE_NAN = 0, CUDNN_PROPAGATE_NAN = 1 };
enum { CUDNN_CONVOLUTION = 0, CUDNN_CROSS_CORRELATION = 1 };
enum { CUDNN_NON_DETERMINISTIC = 0, CUDNN_DETERMINISTIC = 1 };

/* cudnnConvolutionFwdAlgo_t, cudnnConvolutionBwdDataAlgo_t,
 * cudnnConvolutionBwdFilterAlgo_t (cudnn_cnn.h). */
enum {
	CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM = 0,
	CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1,
	CUDNN_CONVOLUTION_FWD_ALGO_GEMM = 2,
	CUDNN_CONVOLUTION_FWD_ALGO_DIRECT = 3,
	CUDNN_CONVOLUTION_FWD_ALGO_FFT = 4,
	CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING = 5,
	CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD = 6,
	CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED = 7,
	CUDNN_CONVOLUTION_FWD_ALGO_COUNT = 8,
};
enum {
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 = 0,
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 = 1,
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT = 2,
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING = 3,
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD = 4,
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED = 5,
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT = 6,
};
enum {
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 = 0,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 = 1,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT = 2,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3 = 3,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD = 4,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED = 5,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING = 6,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT = 7,
};

/* cudnnBatchNormMode_t and CUDNN_BN_MIN_EPSILON (cudnn_ops.h: 0.0 in cuDNN 9). */
enum { CUDNN_BATCHNORM_PER_ACTIVATION = 0, CUDNN_BATCHNORM_SPATIAL = 1, CUDNN_BATCHNORM_SPATIAL_PERSISTENT = 2 };
#define CUDNN_BN_MIN_EPSILON 0.0
/* cudnnBatchNormOps_t (cudnn_ops.h): what the *Ex batch-norm calls fuse. */
enum { CUDNN_BATCHNORM_OPS_BN = 0, CUDNN_BATCHNORM_OPS_BN_ACTIVATION = 1, CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION = 2 };

/* cudnnActivationMode_t (cudnn_ops.h). */
enum {
	CUDNN_ACTIVATION_SIGMOID = 0,
	CUDNN_ACTIVATION_RELU = 1,
	CUDNN_ACTIVATION_TANH = 2,
	CUDNN_ACTIVATION_CLIPPED_RELU = 3,
	CUDNN_ACTIVATION_ELU = 4,
	CUDNN_ACTIVATION_IDENTITY = 5,
	CUDNN_ACTIVATION_SWISH = 6,
};

/* The opaque handle and descriptors, with NVIDIA's struct tags. Each starts
 * with a magic number so that a stale or foreign pointer is BAD_PARAM, not a
 * crash, and records whether its Set function has succeeded. */
#define MAGIC_HANDLE 0x444e4e48u /* "DNNH" */
#define MAGIC_TENSOR 0x444e4e54u
#define MAGIC_FILTER 0x444e4e46u
#define MAGIC_CONV 0x444e4e43u
#define MAGIC_ACT 0x444e4e41u

struct cudnnContext {
	unsigned magic;
	cudasim_stream stream; /* cudnnSetStream; NULL is the legacy default stream */
};
/* CUDNN_DIM_MAX (cudnn_graph.h), and the format the simulator gives a tensor
 * set with strides that are not packed 4-d NCHW (cudnnSetTensor4dDescriptorEx,
 * cudnnSetTensorNdDescriptor): not an enumerant, so every computation, which
 * requires NCHW (or, element-wise, NHWC), refuses it as NOT_SUPPORTED. */
#define CUDNN_DIM_MAX 8
#define SIM_TENSOR_STRIDED 0x5171

struct cudnnTensorStruct {
	unsigned magic;
	int set;
	int format, dtype;
	int n, c, h, w; /* the 4-d shape computations use (0 past nb) */
	/* What the getters report, stored as cuDNN 9 stores it (measured): nb
	 * dimensions (0: never set) and strides, NCHW_VECT_C's c in vectors. */
	int nb, dims[CUDNN_DIM_MAX], strides[CUDNN_DIM_MAX];
	size_t bytes; /* cudnnGetTensorSizeInBytes, computed when a set has checked every dimension */
};
struct cudnnFilterStruct {
	unsigned magic;
	int set;
	int format, dtype;
	int k, c, h, w; /* the 4-d shape computations use (0 past nb) */
	int nb, dims[CUDNN_DIM_MAX]; /* what the getters report (nb 0: never set) */
};
/* The spatial dimensions of a convolution: CUDNN_DIM_MAX - 2. */
#define CONV_DIM_MAX 6
struct cudnnConvolutionStruct {
	unsigned magic;
	int set;
	int pad_h, pad_w, u, v, dil_h, dil_w; /* the 2-d geometry computations use */
	int mode, compute;
	int math;
	/* What the getters report: len spatial dimensions (0: never set). */
	int len, pad[CONV_DIM_MAX], stride[CONV_DIM_MAX], dil[CONV_DIM_MAX];
};
struct cudnnActivationStruct {
	unsigned magic;
	int set;
	int mode, nan;
	double coef;
};

typedef struct cudnnContext *cudnnHandle_t;
typedef struct cudnnTensorStruct *cudnnTensorDescriptor_t;
typedef struct cudnnFilterStruct *cudnnFilterDescriptor_t;
typedef struct cudnnConvolutionStruct *cudnnConvolutionDescriptor_t;
typedef struct cudnnActivationStruct *cudnnActivationDescriptor_t;
typedef struct CUstream_st *cudaStream_t;

/* The performance records of cudnn_cnn.h, field for field. */
typedef struct {
	int algo;
	cudnnStatus_t status;
	float time;
	size_t memory;
	int determinism;
	int mathType;
	int reserved[3];
} cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdFilterAlgoPerf_t;

/* A descriptor's values, as copied into a task. */
typedef struct { int n, c, h, w; } shape4;

/* io.c: a tensor's or filter's data type, logical 4-d shape (n, c, h, w;
 * a filter's k, c, r, s) and element strides of each dimension. */
typedef struct {
	int dtype;
	shape4 s;
	long st[4];
} tview;
/* The view of a tensor (name in messages) or filter, NOT_SUPPORTED for
 * what the simulator does not compute (see io.c). */
cudnnStatus_t tensor_view(const char *call, const char *name, cudnnTensorDescriptor_t d, tview *v);
cudnnStatus_t filter_view(const char *call, cudnnFilterDescriptor_t d, tview *v);
size_t view_len(const tview *v);   /* elements */
size_t view_bytes(const tview *v); /* the bytes the layout spans */
int view_nchw(const tview *v); /* packed NCHW (KCRS), any type */
int view_nhwc(const tview *v); /* packed NHWC (KRSC), any type */
/* cudasim_check of the view's bytes. */
int view_check(const void *dev, const tview *v, const char *call);
/* Inside a task: the data as packed float NCHW — the device data itself for
 * float NCHW, else a new widened array, also stored in *owned (free it;
 * NULL when nothing was allocated) — or NULL with the stream failed. Read
 * only; compute results into a separate array (outputs may alias inputs). */
const float *view_read(const void *dev, const tview *v, const char *call, float **owned);
/* Inside a task: dev = round(alpha·val + beta·dev) element by element, val
 * packed float NCHW; 0 when dev is not live (sticky error set). */
int view_scatter(void *dev, const tview *v, const float *val, float alpha, float beta, const char *call);
const char *dtype_name(int dtype);

/* The bodies of the Create and Destroy functions of each descriptor kind:
 * BAD_PARAM for a NULL pointer (measured: cudnnCreateTensorDescriptor(NULL));
 * destroying NULL is SUCCESS (measured), a foreign pointer BAD_PARAM. */
#define CREATE(T, tag, magic_, call)                                                          \
	if (d == NULL)                                                                        \
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "descriptor pointer is NULL");   \
	T *p = calloc(1, sizeof *p);                                                          \
	if (p == NULL)                                                                        \
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory"); \
	p->magic = magic_;                                                                    \
	*d = p;                                                                               \
	return CUDNN_STATUS_SUCCESS;

#define DESTROY(magic_, call)                                                                 \
	if (d == NULL)                                                                        \
		return CUDNN_STATUS_SUCCESS; /* destroying NULL is a no-op, as free() */      \
	if (d->magic != magic_)                                                               \
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live descriptor of this kind"); \
	d->magic = 0;                                                                         \
	free(d);                                                                              \
	return CUDNN_STATUS_SUCCESS;

/* handle.c: the shared plumbing. */
int dnn_handle_ok(cudnnHandle_t h);
int dnn_tensor_ok(cudnnTensorDescriptor_t d);
int dnn_filter_ok(cudnnFilterDescriptor_t d);
int dnn_conv_ok(cudnnConvolutionDescriptor_t d);
int dnn_act_ok(cudnnActivationDescriptor_t d);
/* Return status s from call, telling why on stderr (cuDNN keeps the text for
 * cudnnGetLastErrorString; the simulator also prints it, since a test that
 * fails on BAD_PARAM is otherwise hard to read). */
cudnnStatus_t dnn_err(cudnnStatus_t s, const char *call, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* cudasim_check of a float array of n elements: 0 and the sticky error set if
 * it does not lie inside one live allocation. */
int dnn_check(const void *p, size_t n_floats, const char *call);
/* The task's host view of a float array (NULL, sticky error set, if bad). */
float *dnn_host(const void *p, size_t n_floats, const char *call);
/* Queue fn(task) on h's stream; the status to return from the API call. */
cudnnStatus_t dnn_enqueue(cudnnHandle_t h, const char *call, void (*fn)(void *), void *task);
/* Whether the float arrays [a, a+an) and [b, b+bn) share memory. */
int dnn_overlap(const void *a, size_t an, const void *b, size_t bn);
/* In strict mode, BAD_PARAM from call when an output overlaps an input it
 * must not (the API reference documents in-place operation only for the
 * activation functions); CUDNN_STATUS_SUCCESS otherwise. */
cudnnStatus_t dnn_no_overlap(const char *call, const char *out_name, const void *out, size_t out_n,
	const char *in_name, const void *in, size_t in_n);
/* The same for byte counts, and for two views. */
cudnnStatus_t dnn_no_overlap_bytes(const char *call, const char *out_name, const void *out, size_t out_b,
	const char *in_name, const void *in, size_t in_b);
cudnnStatus_t dnn_no_overlap_views(const char *call, const char *out_name, const void *out, const tview *ov,
	const char *in_name, const void *in, const tview *iv);
/* alpha·v + beta·old, where beta == 0 never reads old (it may hold NaN):
 * "Scaling Parameters" in the cuDNN API reference. */
void dnn_blend(float *dst, const float *v, size_t n, float alpha, float beta);
size_t shape4_len(shape4 s);
shape4 tensor_shape(cudnnTensorDescriptor_t d);
/* descriptors.c: the bytes of a tensor's layout (cudnnGetTensorSizeInBytes). */
size_t tensor_bytes(cudnnTensorDescriptor_t d);
/* A deterministic pseudo-random 64-bit value from the process seed and a key. */
uint64_t dnn_rand(uint64_t key);

/* batchnorm.c, used by bnex.c. The parameter layout: P statistics, each over
 * groups of J contiguous elements in each of the N images (spatial: P = C,
 * J = H·W; per-activation: P = C·H·W, J = 1), of packed float NCHW data. */
typedef struct {
	int n, p, j;
} bnlayout;
/* The descriptor checks every BN call makes on x, one same-shaped tensor y
 * and the parameter tensor; the layout and the two views. */
cudnnStatus_t bn_layout(const char *call, int mode, cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t yd,
	cudnnTensorDescriptor_t pd, bnlayout *l, tview *xv, tview *yv);
/* Strict mode: whether sm, si are x's batch statistics (the stream failed if not). */
int bn_saved_match(const char *call, bnlayout l, const float *x, const float *sm, const float *si, double eps);
/* The computations of cudnnBatchNormalizationForwardTraining and Backward. */
void bn_forward(bnlayout l, const float *x, const float *g, const float *b, double eps, float *out, float *mean, float *inv,
	float *varu);
void bn_update(bnlayout l, double factor, const float *mean, const float *inv, const float *varu, float *rm, float *rv,
	float *sm, float *si);
void bn_backward(bnlayout l, const float *x, const float *dy, const float *g, const float *sm, const float *si, double eps,
	float *gx, float *gg, float *gb);

/* conv.c, used by find.c. */
enum { DIR_FWD = 0, DIR_BWD_DATA = 1, DIR_BWD_FILTER = 2 };
typedef struct {
	shape4 x, y;                 /* input and output tensors */
	int k, c, r, s;              /* the filter, KCRS */
	int pad_h, pad_w, u, v, dil_h, dil_w;
	int flip;                    /* CUDNN_CONVOLUTION: the kernel is flipped */
	tview xv, wv, yv;            /* how x, w and y are stored (io.c) */
} convgeom;
/* The views of a direction's operands: inputs a and b, output out. */
void conv_views(int dir, const convgeom *g, const tview **a, const tview **b, const tview **out);
cudnnStatus_t conv_geometry(cudnnHandle_t h, const char *call, cudnnTensorDescriptor_t xd, cudnnFilterDescriptor_t wd,
	cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t yd, convgeom *g);

/* find.c, used by conv.c. */
typedef struct {
	cudnnStatus_t status; /* CUDNN_STATUS_NOT_SUPPORTED where the algorithm cannot run this geometry */
	size_t workspace;     /* bytes */
	int tensor_core;      /* may run on tensor cores (TF32) when the math type allows */
	int determinism;
	float err;            /* modelled relative error beyond FMA's, see conv.c */
} algoinfo;
/* What algorithm algo of direction dir needs and can do for g; status
 * BAD_PARAM for an algorithm number out of the enum's range. */
algoinfo algo_info(int dir, int algo, const convgeom *g);

/* Whether the inputs are rounded to TF32 under math type math with this
 * algorithm (see conv.c for the documented rule). */
int conv_uses_tf32(int math, const algoinfo *a);

/* Queue the convolution of direction dir into out (alpha/beta blended); used
 * by the three API calls, and by Find for its timed runs (garbage set). */
cudnnStatus_t conv_enqueue(cudnnHandle_t h, const char *call, int dir, int algo, const convgeom *g, int math,
	const void *a, const void *b, void *out, float alpha, float beta, const void *ws, size_t ws_need);

#endif
