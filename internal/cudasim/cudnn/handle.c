/*
 * handle.c: version and status queries, the cuDNN handle and its stream, and
 * the plumbing every computation shares (checks, task queueing, blending).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"

/* cudnnGetVersion(): "returns the version number of the cuDNN library", the
 * CUDNN_VERSION of cudnn_version.h (cudnn_graph library reference). */
DNN_API size_t cudnnGetVersion(void) { CUDASIM_API_CALL(); return SIM_CUDNN_VERSION; }

/* cudnnGetProperty(type, value): MAJOR_VERSION (0), MINOR_VERSION (1) or
 * PATCH_LEVEL (2) of libraryPropertyType (library_types.h), the parts of
 * cudnnGetVersion(); any other type or a NULL value is BAD_PARAM (measured
 * against cuDNN 9.10.2 and 9.28.1). */
DNN_API cudnnStatus_t cudnnGetProperty(int type, int *value)
{
	CUDASIM_API_CALL();
	if (value == NULL || type < 0 || type > 2)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, "cudnnGetProperty", "type %d is not MAJOR_VERSION, MINOR_VERSION or PATCH_LEVEL, "
			"or value is NULL", type);
	const int parts[3] = {SIM_CUDNN_VERSION / 10000, SIM_CUDNN_VERSION / 100 % 100, SIM_CUDNN_VERSION % 100};
	*value = parts[type];
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetCudartVersion(): the CUDA toolkit version the library was compiled
 * against (cudnn_graph library), CUDART_VERSION's encoding; deepres picks the
 * cuBLAS/NVRTC major from it. */
DNN_API size_t cudnnGetCudartVersion(void) { CUDASIM_API_CALL(); return SIM_CUDART_VERSION; }

/* cudnnGetErrorString(): "converts the cuDNN status code to a NULL terminated
 * (ASCIIZ) static string". Unknown codes get a fixed text rather than NULL. */
DNN_API const char *cudnnGetErrorString(cudnnStatus_t s)
{
	CUDASIM_API_CALL();
	switch (s) {
#define NAME(x) case x: return #x;
	NAME(CUDNN_STATUS_SUCCESS)
	NAME(CUDNN_STATUS_NOT_INITIALIZED)
	NAME(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH)
	NAME(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH)
	NAME(CUDNN_STATUS_DEPRECATED)
	NAME(CUDNN_STATUS_LICENSE_ERROR)
	NAME(CUDNN_STATUS_RUNTIME_IN_PROGRESS)
	NAME(CUDNN_STATUS_RUNTIME_FP_OVERFLOW)
	NAME(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED)
	NAME(CUDNN_STATUS_BAD_PARAM)
	NAME(CUDNN_STATUS_INVALID_VALUE)
	NAME(CUDNN_STATUS_BAD_PARAM_NULL_POINTER)
	NAME(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER)
	NAME(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED)
	NAME(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND)
	NAME(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT)
	NAME(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH)
	NAME(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH)
	NAME(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES)
	NAME(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE)
	NAME(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH)
	NAME(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE)
	NAME(CUDNN_STATUS_NOT_SUPPORTED)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_SHAPE)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_PADDING)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM)
	NAME(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API)
	NAME(CUDNN_STATUS_INTERNAL_ERROR)
	NAME(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED)
	NAME(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE)
	NAME(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED)
	NAME(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
	NAME(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM)
	NAME(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED)
	NAME(CUDNN_STATUS_EXECUTION_FAILED)
	NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER)
	NAME(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS)
	NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDART)
	NAME(CUDNN_STATUS_EXECUTION_FAILED_CURAND)
#undef NAME
	}
	return "CUDNN_UNKNOWN_STATUS";
}

static __thread char last_error[512];

/* cudnnGetLastErrorString(): the last error message of the calling thread,
 * into message (at most max_size bytes, NUL-terminated), then cleared. */
DNN_API void cudnnGetLastErrorString(char *message, size_t max_size)
{
	CUDASIM_API_CALL();
	if (message == NULL || max_size == 0)
		return;
	snprintf(message, max_size, "%s", last_error);
	last_error[0] = 0;
}

cudnnStatus_t dnn_err(cudnnStatus_t s, const char *call, const char *fmt, ...)
{
	char why[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(last_error, sizeof last_error, "%s: %s: %s", call, cudnnGetErrorString(s), why);
	fprintf(stderr, "cudasim cudnn: %s\n", last_error);
	return s;
}

/* cudnnCreate(): "initializes the cuDNN library and creates a handle to an
 * opaque structure holding the cuDNN library context"; BAD_PARAM for a NULL
 * handle pointer. The handle starts on the legacy default stream. */
DNN_API cudnnStatus_t cudnnCreate(cudnnHandle_t *handle)
{
	CUDASIM_API_CALL();
	if (handle == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, "cudnnCreate", "handle is NULL");
	struct cudnnContext *c = calloc(1, sizeof *c);
	if (c == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, "cudnnCreate", "out of host memory");
	c->magic = MAGIC_HANDLE;
	*handle = c;
	cudasim_count("cudnn.handles", 1);
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnDestroy(): "releases the resources used by the cuDNN handle". A
 * destroyed handle's magic is cleared, so a later use is BAD_PARAM. */
DNN_API cudnnStatus_t cudnnDestroy(cudnnHandle_t handle)
{
	CUDASIM_API_CALL();
	if (!dnn_handle_ok(handle))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, "cudnnDestroy", "not a live cuDNN handle");
	handle->magic = 0;
	free(handle);
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnSetStream(): "sets the user's CUDA stream in the cuDNN handle. The new
 * stream will be used to launch cuDNN GPU kernels"; NULL is the default
 * stream. BAD_PARAM for an invalid handle. */
DNN_API cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream)
{
	CUDASIM_API_CALL();
	if (!dnn_handle_ok(handle))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, "cudnnSetStream", "not a live cuDNN handle");
	handle->stream = (cudasim_stream)stream;
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetStream(): the stream set by cudnnSetStream. */
DNN_API cudnnStatus_t cudnnGetStream(cudnnHandle_t handle, cudaStream_t *stream)
{
	CUDASIM_API_CALL();
	if (!dnn_handle_ok(handle) || stream == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, "cudnnGetStream", "bad handle or NULL stream pointer");
	*stream = (cudaStream_t)handle->stream;
	return CUDNN_STATUS_SUCCESS;
}

int dnn_handle_ok(cudnnHandle_t h) { return h != NULL && h->magic == MAGIC_HANDLE; }
int dnn_tensor_ok(cudnnTensorDescriptor_t d) { return d != NULL && d->magic == MAGIC_TENSOR && d->set; }
int dnn_filter_ok(cudnnFilterDescriptor_t d) { return d != NULL && d->magic == MAGIC_FILTER && d->set; }
int dnn_conv_ok(cudnnConvolutionDescriptor_t d) { return d != NULL && d->magic == MAGIC_CONV && d->set; }
int dnn_act_ok(cudnnActivationDescriptor_t d) { return d != NULL && d->magic == MAGIC_ACT && d->set; }

int dnn_check(const void *p, size_t n_floats, const char *call)
{
	return cudasim_check((cudasim_devptr)(uintptr_t)p, n_floats * sizeof(float), call);
}

float *dnn_host(const void *p, size_t n_floats, const char *call)
{
	return cudasim_host((cudasim_devptr)(uintptr_t)p, n_floats * sizeof(float), call);
}

cudnnStatus_t dnn_enqueue(cudnnHandle_t h, const char *call, void (*fn)(void *), void *task)
{
	int r = cudasim_enqueue(h->stream, call, fn, task);
	if (r != CUDASIM_SUCCESS) {
		free(task);
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "the stream refused the work (CUresult %d)", r);
	}
	/* Per function, and in all: each stands for at least one kernel a real
	 * cuDNN would launch (what the CUDA Graphs decision counts). */
	cudasim_count(call, 1);
	cudasim_count("cudnn_calls", 1);
	return CUDNN_STATUS_SUCCESS;
}

/* Whether the byte ranges [a, a+an) and [b, b+bn) share memory. */
static int overlap_bytes(const void *a, size_t an, const void *b, size_t bn)
{
	uintptr_t a0 = (uintptr_t)a, a1 = a0 + an, b0 = (uintptr_t)b, b1 = b0 + bn;
	return a != NULL && b != NULL && an > 0 && bn > 0 && a0 < b1 && b0 < a1;
}

int dnn_overlap(const void *a, size_t an, const void *b, size_t bn)
{
	return overlap_bytes(a, an * sizeof(float), b, bn * sizeof(float));
}

cudnnStatus_t dnn_no_overlap_bytes(const char *call, const char *out_name, const void *out, size_t out_b,
	const char *in_name, const void *in, size_t in_b)
{
	if (!cudasim_strict() || !overlap_bytes(out, out_b, in, in_b))
		return CUDNN_STATUS_SUCCESS;
	return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "%s [%p, +%zu bytes) overlaps %s [%p, +%zu bytes): "
		"cuDNN documents no in-place operation here (strict mode; CUDASIM_STRICT=0 computes as if separate)",
		out_name, out, out_b, in_name, in, in_b);
}

cudnnStatus_t dnn_no_overlap(const char *call, const char *out_name, const void *out, size_t out_n,
	const char *in_name, const void *in, size_t in_n)
{
	return dnn_no_overlap_bytes(call, out_name, out, out_n * sizeof(float), in_name, in, in_n * sizeof(float));
}

cudnnStatus_t dnn_no_overlap_views(const char *call, const char *out_name, const void *out, const tview *ov,
	const char *in_name, const void *in, const tview *iv)
{
	return dnn_no_overlap_bytes(call, out_name, out, view_bytes(ov), in_name, in, view_bytes(iv));
}

void dnn_blend(float *dst, const float *v, size_t n, float alpha, float beta)
{
	if (beta == 0.0f) {
		for (size_t i = 0; i < n; i++)
			dst[i] = alpha * v[i];
		return;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = alpha * v[i] + beta * dst[i];
}

size_t shape4_len(shape4 s) { return (size_t)s.n * s.c * s.h * s.w; }

shape4 tensor_shape(cudnnTensorDescriptor_t d) { return (shape4){d->n, d->c, d->h, d->w}; }

/* splitmix64 of the seed and key: reproducible through CUDASIM_SEED. */
uint64_t dnn_rand(uint64_t key)
{
	uint64_t z = cudasim_seed() + 0x9e3779b97f4a7c15ull * (key + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
