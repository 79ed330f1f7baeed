/*
 * cublas.c: the simulated libcublas.so.13 (cuBLAS Library User Guide,
 * "Using the cuBLAS API" and "cuBLAS Level-3 Function Reference"): the
 * handle, its stream, workspace and math mode, cublasSgemm_v2 and
 * cublasGemmEx (float, half and bfloat16 matrices, float compute).
 *
 * GEMM follows the guide's definition, column-major:
 *   C = alpha * op(A) * op(B) + beta * C,
 * op(A) m x k, op(B) k x n, C m x n, with leading dimensions lda, ldb, ldc.
 * It runs on the handle's stream (cublasSetStream) as a task of the
 * simulated driver, reading the device memory when it runs; the extents it
 * will read are checked against live allocations at the call.
 * Products are summed in double and rounded once; in
 * CUBLAS_TF32_TENSOR_OP_MATH the inputs are first rounded to TF32 (10-bit
 * mantissa, ties to even), which the default and pedantic modes never do, so that a
 * strict FP32 run that leaks TF32 shows.
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cudasim.h"
#include "half.h"

typedef enum {
	CUBLAS_STATUS_SUCCESS = 0,
	CUBLAS_STATUS_NOT_INITIALIZED = 1,
	CUBLAS_STATUS_ALLOC_FAILED = 3,
	CUBLAS_STATUS_INVALID_VALUE = 7,
	CUBLAS_STATUS_ARCH_MISMATCH = 8,
	CUBLAS_STATUS_MAPPING_ERROR = 11,
	CUBLAS_STATUS_EXECUTION_FAILED = 13,
	CUBLAS_STATUS_INTERNAL_ERROR = 14,
	CUBLAS_STATUS_NOT_SUPPORTED = 15,
	CUBLAS_STATUS_LICENSE_ERROR = 16,
} cublasStatus_t;

enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 };
enum {
	CUBLAS_DEFAULT_MATH = 0,
	CUBLAS_TENSOR_OP_MATH = 1, /* deprecated */
	CUBLAS_PEDANTIC_MATH = 2,
	CUBLAS_TF32_TENSOR_OP_MATH = 3,
	CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16,
};

#define HANDLE_MAGIC 0x43424c53u

struct cublasContext {
	uint32_t magic;
	cudasim_stream stream;
	unsigned int math;
	int user_ws;             /* cublasSetWorkspace_v2 since the last cublasSetStream_v2 */
	cudasim_devptr ws;
	size_t ws_bytes;
};
typedef struct cublasContext *cublasHandle_t;

/* cublasGetStatusString: the description of a status. */
CUDASIM_API const char *cublasGetStatusString(cublasStatus_t status) {
	CUDASIM_API_CALL();
	switch (status) {
	case CUBLAS_STATUS_SUCCESS: return "the operation completed successfully";
	case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
	case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
	case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
	case CUBLAS_STATUS_ARCH_MISMATCH: return "an absent device architectural feature is required";
	case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
	case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
	case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
	case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
	case CUBLAS_STATUS_LICENSE_ERROR: return "an error was detected when checking the current licensing";
	}
	return "unknown error";
}

/* cublasGetProperty: MAJOR_VERSION (0), MINOR_VERSION (1), PATCH_LEVEL (2). */
CUDASIM_API cublasStatus_t cublasGetProperty(int type, int *value) {
	CUDASIM_API_CALL();
	if (value == NULL) return CUBLAS_STATUS_INVALID_VALUE;
	switch (type) {
	case 0: *value = 13; return CUBLAS_STATUS_SUCCESS;
	case 1: *value = 0; return CUBLAS_STATUS_SUCCESS;
	case 2: *value = 0; return CUBLAS_STATUS_SUCCESS;
	}
	return CUBLAS_STATUS_INVALID_VALUE;
}

static int valid(cublasHandle_t h) { return h != NULL && h->magic == HANDLE_MAGIC; }

/* cublasCreate_v2: "initializes the cuBLAS library and creates a handle";
 * the handle starts on the NULL stream with CUBLAS_DEFAULT_MATH. */
CUDASIM_API cublasStatus_t cublasCreate_v2(cublasHandle_t *handle) {
	CUDASIM_API_CALL();
	if (handle == NULL) return CUBLAS_STATUS_INVALID_VALUE;
	struct cublasContext *h = calloc(1, sizeof *h);
	if (h == NULL) return CUBLAS_STATUS_ALLOC_FAILED;
	h->magic = HANDLE_MAGIC;
	*handle = h;
	return CUBLAS_STATUS_SUCCESS;
}

/* cublasDestroy_v2: CUBLAS_STATUS_NOT_INITIALIZED for a handle that is not one. */
CUDASIM_API cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
	CUDASIM_API_CALL();
	if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
	handle->magic = 0;
	free(handle);
	return CUBLAS_STATUS_SUCCESS;
}

/* cublasSetStream_v2: later calls on the handle run on streamId; and "this
 * function unconditionally resets the cuBLAS library workspace back to the
 * default workspace pool (see cublasSetWorkspace())" (cuBLAS Library User
 * Guide, cublasSetStream). */
CUDASIM_API cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudasim_stream streamId) {
	CUDASIM_API_CALL();
	if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
	handle->stream = streamId;
	handle->user_ws = 0;
	handle->ws = 0;
	handle->ws_bytes = 0;
	return CUBLAS_STATUS_SUCCESS;
}

/* cublasSetWorkspace_v2 (cuBLAS Library User Guide, cublasSetWorkspace):
 * "sets the cuBLAS library workspace to a user-owned device buffer, which
 * will be used to execute all subsequent calls to the cuBLAS library
 * functions (on the currently set stream)"; "The workspace pointer has to be
 * aligned to at least 256 bytes, otherwise CUBLAS_STATUS_INVALID_VALUE error
 * is returned"; "Calling this function, including with workspaceSizeInBytes
 * equal to 0, will prevent the cuBLAS library from utilizing the default
 * workspace." Stricter than cuBLAS: every call that uses a non-empty
 * workspace checks that it lies in one live device allocation (as a GPU
 * would fault on a freed one, later and less clearly). */
CUDASIM_API cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace, size_t workspaceSizeInBytes) {
	CUDASIM_API_CALL();
	if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
	cudasim_devptr p = (uintptr_t)workspace;
	if (p % 256 != 0) return CUBLAS_STATUS_INVALID_VALUE;
	handle->user_ws = 1;
	handle->ws = p;
	handle->ws_bytes = workspaceSizeInBytes;
	return CUBLAS_STATUS_SUCCESS;
}

/* cublasSetMathMode: one of the cublasMath_t modes, optionally with
 * CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION. */
CUDASIM_API cublasStatus_t cublasSetMathMode(cublasHandle_t handle, unsigned int mode) {
	CUDASIM_API_CALL();
	if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
	unsigned int base = mode & ~(unsigned)CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
	if (base > CUBLAS_TF32_TENSOR_OP_MATH) return CUBLAS_STATUS_INVALID_VALUE;
	handle->math = mode;
	return CUBLAS_STATUS_SUCCESS;
}

/* tf32 rounds x to TensorFloat-32's 10-bit mantissa, to nearest with ties
 * to even: of CUBLAS_TF32_TENSOR_OP_MATH the cuBLAS Library User Guide
 * (cublasMath_t) says "Note that input conversions round to nearest even".
 * (The simulated cuDNN rounds its own way, cudnn/conv.c.) */
static float tf32(float x) {
	uint32_t u;
	memcpy(&u, &x, 4);
	if ((u & 0x7f800000u) != 0x7f800000u) {
		u += 0xfffu + ((u >> 13) & 1u);
		u &= ~0x1fffu;
	}
	memcpy(&x, &u, 4);
	return x;
}

/* cudaDataType_t (library_types.h): the real types GemmEx computes. */
enum { CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14 };

/* Inputs rounded before the products: TF32 (tf32 above), or the reduced
 * types CUBLAS_COMPUTE_32F_FAST_16F and _FAST_16BF allow. */
enum { ROUND_NONE, ROUND_TF32, ROUND_16F, ROUND_16BF };

struct gemm {
	const char *call;
	int ta, tb, m, n, k, lda, ldb, ldc, round;
	int atype, btype, ctype;
	float alpha, beta;
	cudasim_devptr A, B, C;
	size_t abytes, bbytes, cbytes;
};

static int type_bytes(int t) { return t == CUDA_R_32F ? 4 : 2; }

static float load(int t, const unsigned char *p, size_t i) {
	uint16_t h;
	float f;
	switch (t) {
	case CUDA_R_16F: memcpy(&h, p + 2 * i, 2); return sim_f16_value(h);
	case CUDA_R_16BF: memcpy(&h, p + 2 * i, 2); return sim_bf16_value(h);
	}
	memcpy(&f, p + 4 * i, 4);
	return f;
}

static void store(int t, unsigned char *p, size_t i, float f) {
	uint16_t h;
	switch (t) {
	case CUDA_R_16F: h = sim_f16_bits(f); memcpy(p + 2 * i, &h, 2); return;
	case CUDA_R_16BF: h = sim_bf16_bits(f); memcpy(p + 2 * i, &h, 2); return;
	}
	memcpy(p + 4 * i, &f, 4);
}

static float reduce(int r, float x) {
	switch (r) {
	case ROUND_TF32: return tf32(x);
	case ROUND_16F: return sim_f16_value(sim_f16_bits(x));
	case ROUND_16BF: return sim_bf16_value(sim_bf16_bits(x));
	}
	return x;
}

/* Each element: the products of the widened inputs summed in double, the
 * alpha/beta blend in double rounded to float, then (half C) rounded once
 * more to C's type, to nearest even. */
static void run_gemm(void *arg) {
	struct gemm *g = arg;
	unsigned char *C = cudasim_host(g->C, g->cbytes, g->call);
	const unsigned char *A = NULL, *B = NULL;
	int reads = g->alpha != 0.0f && g->k > 0;
	if (C == NULL) return;
	if (reads) {
		A = cudasim_host(g->A, g->abytes, g->call);
		B = cudasim_host(g->B, g->bbytes, g->call);
		if (A == NULL || B == NULL) return;
	}
	for (int j = 0; j < g->n; j++) {
		for (int i = 0; i < g->m; i++) {
			double s = 0;
			for (int l = 0; reads && l < g->k; l++) {
				float a = load(g->atype, A, g->ta == CUBLAS_OP_N ? i + (size_t)l * g->lda : l + (size_t)i * g->lda);
				float b = load(g->btype, B, g->tb == CUBLAS_OP_N ? l + (size_t)j * g->ldb : j + (size_t)l * g->ldb);
				if (g->round != ROUND_NONE) a = reduce(g->round, a), b = reduce(g->round, b);
				s += (double)a * (double)b;
			}
			size_t ci = i + (size_t)j * g->ldc;
			/* "if beta == 0, then C does not have to be a valid input". */
			float c = g->beta == 0.0f ? (float)(g->alpha * s) : (float)(g->alpha * s + (double)g->beta * load(g->ctype, C, ci));
			store(g->ctype, C, ci, c);
		}
	}
}

static void nothing(void *arg) { (void)arg; }

/* Without a workspace of the user's (cublasSetWorkspace_v2), a call made
 * during stream capture takes its workspace from the default pool in
 * stream order, which capture records as a memory allocation node before
 * the call's kernels and a free node after them (cudaMallocAsync and
 * cudaFreeAsync, stream-ordered allocation being capturable: CUDA
 * Programming Guide, "Graph Memory Nodes"). PyTorch met exactly this
 * (pytorch#83461: "cuBLAS internally allocates a new workspace for each
 * graph") and sets a workspace per handle and stream. Such nodes make a
 * graph unusable as a child graph or a conditional body (graph.c). Here
 * every captured call without a user workspace records both; eagerly no
 * node exists and nothing is recorded. Returns 1 when queued. */
static int workspace_node(cudasim_stream s, const char *call) {
	void *arg = malloc(1);
	if (arg == NULL) return 0;
	if (cudasim_enqueue(s, call, nothing, arg) != CUDASIM_SUCCESS) {
		free(arg);
		return 0;
	}
	return 1;
}

/* The bytes spanned by an r x c column-major matrix with leading dimension
 * ld, of elements of es bytes. */
static size_t span(int r, int c, int ld, int es) { return r == 0 || c == 0 ? 0 : ((size_t)(c - 1) * ld + r) * (size_t)es; }

/* cublasSgemm_v2: CUBLAS_STATUS_INVALID_VALUE "if m, n, k < 0, or if
 * transa, transb != CUBLAS_OP_N, CUBLAS_OP_C, CUBLAS_OP_T, or if lda <
 * max(1, m) if transa == CUBLAS_OP_N and lda < max(1, k) otherwise, or if
 * ldb < max(1, k) if transb == CUBLAS_OP_N and ldb < max(1, n) otherwise,
 * or if ldc < max(1, m), or if alpha, beta == NULL". For real data OP_C is
 * OP_T. alpha and beta are host pointers (CUBLAS_POINTER_MODE_HOST, the
 * default), read at the call. */
/* gemm checks the arguments every GEMM checks and queues it: the body of
 * cublasSgemm_v2 and cublasGemmEx once their types are known. */
static cublasStatus_t gemm(const char *call, cublasHandle_t handle, int transa, int transb, int m, int n, int k,
	const float *alpha, const void *A, int atype, int lda, const void *B, int btype, int ldb, const float *beta, void *C,
	int ctype, int ldc, int round) {
	int ta = transa == CUBLAS_OP_N ? CUBLAS_OP_N : CUBLAS_OP_T, tb = transb == CUBLAS_OP_N ? CUBLAS_OP_N : CUBLAS_OP_T;
	int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
	int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
	if (lda < (ar > 1 ? ar : 1) || ldb < (br > 1 ? br : 1) || ldc < (m > 1 ? m : 1)) return CUBLAS_STATUS_INVALID_VALUE;
	if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS; /* quick return */
	if (cudasim_sticky()) return CUBLAS_STATUS_EXECUTION_FAILED;
	struct gemm *g = calloc(1, sizeof *g);
	if (g == NULL) return CUBLAS_STATUS_ALLOC_FAILED;
	*g = (struct gemm){call, ta, tb, m, n, k, lda, ldb, ldc, round, atype, btype, ctype, *alpha, *beta,
		(uintptr_t)A, (uintptr_t)B, (uintptr_t)C, span(ar, ac, lda, type_bytes(atype)), span(br, bc, ldb, type_bytes(btype)),
		span(m, n, ldc, type_bytes(ctype))};
	int reads = g->alpha != 0.0f && k > 0;
	if (!cudasim_check(g->C, g->cbytes, call) ||
		(reads && (!cudasim_check(g->A, g->abytes, call) || !cudasim_check(g->B, g->bbytes, call)))) {
		free(g);
		return CUBLAS_STATUS_EXECUTION_FAILED;
	}
	if (handle->user_ws && handle->ws_bytes > 0 && !cudasim_check(handle->ws, handle->ws_bytes, call)) {
		free(g);
		return CUBLAS_STATUS_EXECUTION_FAILED;
	}
	cudasim_count("cublas_gemms", 1);
	int pool = !handle->user_ws && cudasim_capturing(handle->stream);
	char what[96];
	snprintf(what, sizeof what, "cuMemAllocAsync(%s's workspace)", call);
	if ((pool && !workspace_node(handle->stream, what)) || cudasim_enqueue(handle->stream, call, run_gemm, g) != CUDASIM_SUCCESS) {
		free(g);
		return CUBLAS_STATUS_EXECUTION_FAILED;
	}
	snprintf(what, sizeof what, "cuMemFreeAsync(%s's workspace)", call);
	if (pool && !workspace_node(handle->stream, what))
		return CUBLAS_STATUS_EXECUTION_FAILED;
	return CUBLAS_STATUS_SUCCESS;
}

/* TF32 only when asked for, and never under NVIDIA_TF32_OVERRIDE=0
 * ("Using the cuBLAS API", "TF32 override"). */
static int tf32_allowed(void) {
	const char *ov = getenv("NVIDIA_TF32_OVERRIDE");
	return !(ov != NULL && strcmp(ov, "0") == 0);
}

/* cublasSgemm_v2: CUBLAS_STATUS_INVALID_VALUE "if m, n, k < 0, or if
 * transa, transb != CUBLAS_OP_N, CUBLAS_OP_C, CUBLAS_OP_T, or if lda <
 * max(1, m) if transa == CUBLAS_OP_N and lda < max(1, k) otherwise, or if
 * ldb < max(1, k) if transb == CUBLAS_OP_N and ldb < max(1, n) otherwise,
 * or if ldc < max(1, m), or if alpha, beta == NULL". For real data OP_C is
 * OP_T. alpha and beta are host pointers (CUBLAS_POINTER_MODE_HOST, the
 * default), read at the call. */
CUDASIM_API cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, int transa, int transb, int m, int n, int k,
	const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc) {
	CUDASIM_API_CALL();
	if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
	if (transa < 0 || transa > 2 || transb < 0 || transb > 2 || m < 0 || n < 0 || k < 0 || alpha == NULL || beta == NULL)
		return CUBLAS_STATUS_INVALID_VALUE;
	int round = (handle->math & 15u) == CUBLAS_TF32_TENSOR_OP_MATH && tf32_allowed() ? ROUND_TF32 : ROUND_NONE;
	return gemm("cublasSgemm_v2", handle, transa, transb, m, n, k, alpha, A, CUDA_R_32F, lda, B, CUDA_R_32F, ldb, beta, C,
		CUDA_R_32F, ldc, round);
}

/* cublasComputeType_t (cublas_api.h) and cublasGemmAlgo_t's ranges. */
enum {
	CUBLAS_COMPUTE_16F = 64, CUBLAS_COMPUTE_16F_PEDANTIC = 65, CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_PEDANTIC = 69,
	CUBLAS_COMPUTE_32F_FAST_16F = 74, CUBLAS_COMPUTE_32F_FAST_16BF = 75, CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
};
enum { CUBLAS_GEMM_DEFAULT = -1, CUBLAS_GEMM_ALGO23 = 23, CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99, CUBLAS_GEMM_ALGO15_TENSOR_OP = 115 };

/* cublasGemmEx: C = alpha·op(A)·op(B) + beta·C with typed matrices (cuBLAS
 * Library User Guide, "cublasGemmEx()", docs.nvidia.com/cuda/cublas/
 * #cublasgemmex; the prototype is cublas_api.h's, CUDA 12 and 13). Of the
 * guide's table of supported combinations, the real ones with float
 * compute, alpha and beta float host values:
 *   CUBLAS_COMPUTE_32F, _32F_PEDANTIC   A, B 16BF, C 16BF or 32F;
 *                                       A, B 16F,  C 16F or 32F;
 *                                       A, B, C 32F
 *   CUBLAS_COMPUTE_32F_FAST_16F, _FAST_16BF, _FAST_TF32   A, B, C 32F
 * "CUBLAS_STATUS_NOT_SUPPORTED: the combination of the parameters Atype,
 * Btype and Ctype or the algorithm, algo is not supported": every other
 * combination, including those the guide lists but the simulator does not
 * compute (CUBLAS_COMPUTE_16F, 64F, 32I, the 8-bit and complex types),
 * which it names on stderr. The invalid-value rules are cublasSgemm_v2's.
 * Arithmetic: as cublasSgemm_v2, on the inputs widened to float; the FAST
 * compute types round the inputs to what they allow (TF32, float16,
 * bfloat16: the simulator always takes the reduction, so that a run that
 * must not have one shows it), CUBLAS_COMPUTE_32F follows the handle's
 * math mode as cublasSgemm_v2 does (CUBLAS_TF32_TENSOR_OP_MATH rounds to
 * TF32; a no-op on half inputs), _PEDANTIC never rounds. */
CUDASIM_API cublasStatus_t cublasGemmEx(cublasHandle_t handle, int transa, int transb, int m, int n, int k, const void *alpha,
	const void *A, int Atype, int lda, const void *B, int Btype, int ldb, const void *beta, void *C, int Ctype, int ldc,
	int computeType, int algo) {
	CUDASIM_API_CALL();
	const char *call = "cublasGemmEx";
	if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
	if (transa < 0 || transa > 2 || transb < 0 || transb > 2 || m < 0 || n < 0 || k < 0 || alpha == NULL || beta == NULL)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (!((algo >= CUBLAS_GEMM_DEFAULT && algo <= CUBLAS_GEMM_ALGO23) ||
		    (algo >= CUBLAS_GEMM_DEFAULT_TENSOR_OP && algo <= CUBLAS_GEMM_ALGO15_TENSOR_OP))) {
		fprintf(stderr, "cudasim cublas: %s: algo %d is not a cublasGemmAlgo_t the simulator knows\n", call, algo);
		return CUBLAS_STATUS_NOT_SUPPORTED;
	}
	int half_in = (Atype == CUDA_R_16F || Atype == CUDA_R_16BF) && Btype == Atype;
	int round = -1;
	switch (computeType) {
	case CUBLAS_COMPUTE_32F:
	case CUBLAS_COMPUTE_32F_PEDANTIC:
		if ((half_in && (Ctype == Atype || Ctype == CUDA_R_32F)) ||
			(Atype == CUDA_R_32F && Btype == CUDA_R_32F && Ctype == CUDA_R_32F))
			round = computeType == CUBLAS_COMPUTE_32F && (handle->math & 15u) == CUBLAS_TF32_TENSOR_OP_MATH && tf32_allowed()
				? ROUND_TF32 : ROUND_NONE;
		break;
	case CUBLAS_COMPUTE_32F_FAST_16F:
	case CUBLAS_COMPUTE_32F_FAST_16BF:
	case CUBLAS_COMPUTE_32F_FAST_TF32:
		if (Atype == CUDA_R_32F && Btype == CUDA_R_32F && Ctype == CUDA_R_32F)
			round = computeType == CUBLAS_COMPUTE_32F_FAST_16F ? ROUND_16F
				: computeType == CUBLAS_COMPUTE_32F_FAST_16BF ? ROUND_16BF : tf32_allowed() ? ROUND_TF32 : ROUND_NONE;
		break;
	}
	if (round < 0) {
		fprintf(stderr, "cudasim cublas: %s: Atype %d, Btype %d, Ctype %d with computeType %d is not a combination the "
			"simulator computes (float compute over CUDA_R_32F, _16F, _16BF: see cublas.c)\n", call, Atype, Btype, Ctype, computeType);
		return CUBLAS_STATUS_NOT_SUPPORTED;
	}
	return gemm(call, handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, round);
}
