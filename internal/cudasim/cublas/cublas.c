/*
 * cublas.c: the simulated libcublas.so.13 (cuBLAS Library User Guide,
 * "Using the cuBLAS API" and "cuBLAS Level-3 Function Reference"): the
 * handle, its stream, workspace and math mode, and cublasSgemm_v2.
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cudasim.h"

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

struct gemm {
	int ta, tb, m, n, k, lda, ldb, ldc, tf32;
	float alpha, beta;
	cudasim_devptr A, B, C;
	size_t abytes, bbytes, cbytes;
};

static void run_gemm(void *arg) {
	const char *call = "cublasSgemm_v2";
	struct gemm *g = arg;
	float *C = cudasim_host(g->C, g->cbytes, call);
	const float *A = NULL, *B = NULL;
	int reads = g->alpha != 0.0f && g->k > 0;
	if (C == NULL) return;
	if (reads) {
		A = cudasim_host(g->A, g->abytes, call);
		B = cudasim_host(g->B, g->bbytes, call);
		if (A == NULL || B == NULL) return;
	}
	for (int j = 0; j < g->n; j++) {
		for (int i = 0; i < g->m; i++) {
			double s = 0;
			for (int l = 0; reads && l < g->k; l++) {
				float a = g->ta == CUBLAS_OP_N ? A[i + (size_t)l * g->lda] : A[l + (size_t)i * g->lda];
				float b = g->tb == CUBLAS_OP_N ? B[l + (size_t)j * g->ldb] : B[j + (size_t)l * g->ldb];
				if (g->tf32) a = tf32(a), b = tf32(b);
				s += (double)a * (double)b;
			}
			float *c = &C[i + (size_t)j * g->ldc];
			/* "if beta == 0, then C does not have to be a valid input". */
			*c = g->beta == 0.0f ? (float)(g->alpha * s) : (float)(g->alpha * s + (double)g->beta * *c);
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

/* The bytes spanned by an r x c column-major matrix with leading dimension ld. */
static size_t span(int r, int c, int ld) { return r == 0 || c == 0 ? 0 : ((size_t)(c - 1) * ld + r) * sizeof(float); }

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
	int ta = transa == CUBLAS_OP_N ? CUBLAS_OP_N : CUBLAS_OP_T, tb = transb == CUBLAS_OP_N ? CUBLAS_OP_N : CUBLAS_OP_T;
	int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
	int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
	if (lda < (ar > 1 ? ar : 1) || ldb < (br > 1 ? br : 1) || ldc < (m > 1 ? m : 1)) return CUBLAS_STATUS_INVALID_VALUE;
	if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS; /* quick return */
	if (cudasim_sticky()) return CUBLAS_STATUS_EXECUTION_FAILED;
	struct gemm *g = calloc(1, sizeof *g);
	if (g == NULL) return CUBLAS_STATUS_ALLOC_FAILED;
	*g = (struct gemm){ta, tb, m, n, k, lda, ldb, ldc, 0, *alpha, *beta, (uintptr_t)A, (uintptr_t)B, (uintptr_t)C,
		span(ar, ac, lda), span(br, bc, ldb), span(m, n, ldc)};
	/* TF32 only when asked for, and never under NVIDIA_TF32_OVERRIDE=0
	 * ("Using the cuBLAS API", "TF32 override"). */
	const char *ov = getenv("NVIDIA_TF32_OVERRIDE");
	g->tf32 = (handle->math & 15u) == CUBLAS_TF32_TENSOR_OP_MATH && !(ov != NULL && strcmp(ov, "0") == 0);
	const char *call = "cublasSgemm_v2";
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
	if ((pool && !workspace_node(handle->stream, "cuMemAllocAsync(cublasSgemm_v2's workspace)")) ||
		cudasim_enqueue(handle->stream, call, run_gemm, g) != CUDASIM_SUCCESS) {
		free(g);
		return CUBLAS_STATUS_EXECUTION_FAILED;
	}
	if (pool && !workspace_node(handle->stream, "cuMemFreeAsync(cublasSgemm_v2's workspace)"))
		return CUBLAS_STATUS_EXECUTION_FAILED;
	return CUBLAS_STATUS_SUCCESS;
}
