/*
 * simcheck.c: the simulator's own checks, one case per run (sim_test.go
 * runs `simcheck DIR CASE`). It loads the simulated libraries from DIR with
 * dlopen, exactly as deepres does (internal/dl), and exits 0 when the
 * simulator behaved as the case expects, 1 with a message when not.
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef unsigned int CUresult;
typedef unsigned long long CUdeviceptr;
typedef void *CUcontext, *CUstream, *CUmodule, *CUfunction, *CUgraph, *CUgraphNode, *CUgraphExec;

static CUresult (*cuInit)(unsigned);
static CUresult (*cuDeviceGet)(int *, int);
static CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, int);
static CUresult (*cuDevicePrimaryCtxRelease_v2)(int);
static CUresult (*cuCtxSetCurrent)(CUcontext);
static CUresult (*cuMemAlloc_v2)(CUdeviceptr *, size_t);
static CUresult (*cuMemFree_v2)(CUdeviceptr);
static CUresult (*cuMemHostAlloc)(void **, size_t, unsigned);
static CUresult (*cuMemFreeHost)(void *);
static CUresult (*cuMemcpyHtoDAsync_v2)(CUdeviceptr, const void *, size_t, CUstream);
static CUresult (*cuMemcpyDtoHAsync_v2)(void *, CUdeviceptr, size_t, CUstream);
static CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
static CUresult (*cuStreamCreate)(CUstream *, unsigned);
static CUresult (*cuStreamSynchronize)(CUstream);
static CUresult (*cuModuleLoadData)(CUmodule *, const void *);
static CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
static CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
	CUstream, void **, void **);
static CUresult (*cuStreamBeginCapture_v2)(CUstream, unsigned);
static CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
static CUresult (*cuStreamIsCapturing)(CUstream, unsigned *);
static CUresult (*cuStreamGetCaptureInfo_v2)(CUstream, unsigned *, uint64_t *, CUgraph *, const CUgraphNode **, size_t *);
static CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph, unsigned long long);
static CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
static CUresult (*cuGraphExecDestroy)(CUgraphExec);
static CUresult (*cuGraphDestroy)(CUgraph);
static CUresult (*cuGraphGetNodes)(CUgraph, CUgraphNode *, size_t *);
static CUresult (*cuGraphNodeGetType)(CUgraphNode, unsigned *);
static CUresult (*cuGraphNodeSetEnabled)(CUgraphExec, CUgraphNode, unsigned);
static CUresult (*cuGraphNodeGetEnabled)(CUgraphExec, CUgraphNode, unsigned *);
static CUresult (*cuGetErrorName)(CUresult, const char **);
static int (*nvrtcCreateProgram)(void **, const char *, const char *, int, const char *const *, const char *const *);
static int (*nvrtcCompileProgram)(void *, int, const char *const *);
static int (*nvrtcGetProgramLogSize)(void *, size_t *);
static int (*nvrtcGetProgramLog)(void *, char *);
static int (*nvrtcGetCUBINSize)(void *, size_t *);
static int (*nvrtcGetCUBIN)(void *, char *);
static int (*nvrtcVersion)(int *, int *);
static int (*nvrtcGetNumSupportedArchs)(int *);
static int (*nvrtcGetSupportedArchs)(int *);
static int (*cublasCreate_v2)(void **);
static int (*cublasSetStream_v2)(void *, CUstream);
static int (*cublasSetMathMode)(void *, unsigned);
static int (*cublasSgemm_v2)(void *, int, int, int, int, int, const float *, const float *, int, const float *, int,
	const float *, float *, int);

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#include <stdarg.h>
static void fail(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	exit(1);
}

static void *open_lib(const char *dir, const char *name) {
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (h == NULL) fail("dlopen %s: %s", path, dlerror());
	return h;
}

#define SYM(h, name)                                                  \
	do {                                                          \
		*(void **)&name = dlsym(h, #name);                    \
		if (name == NULL) fail("%s lacks %s", #h, #name);     \
	} while (0)

static void load(const char *dir) {
	void *cuda = open_lib(dir, "libcuda.so.1");
	open_lib(dir, "libcublasLt.so.13");
	void *blas = open_lib(dir, "libcublas.so.13");
	void *nvrtc = open_lib(dir, "libnvrtc.so.13");
	SYM(cuda, cuInit);
	SYM(cuda, cuDeviceGet);
	SYM(cuda, cuDevicePrimaryCtxRetain);
	SYM(cuda, cuDevicePrimaryCtxRelease_v2);
	SYM(cuda, cuCtxSetCurrent);
	SYM(cuda, cuMemAlloc_v2);
	SYM(cuda, cuMemFree_v2);
	SYM(cuda, cuMemHostAlloc);
	SYM(cuda, cuMemFreeHost);
	SYM(cuda, cuMemcpyHtoDAsync_v2);
	SYM(cuda, cuMemcpyDtoHAsync_v2);
	SYM(cuda, cuMemsetD32Async);
	SYM(cuda, cuStreamCreate);
	SYM(cuda, cuStreamSynchronize);
	SYM(cuda, cuModuleLoadData);
	SYM(cuda, cuModuleGetFunction);
	SYM(cuda, cuLaunchKernel);
	SYM(cuda, cuStreamBeginCapture_v2);
	SYM(cuda, cuStreamEndCapture);
	SYM(cuda, cuStreamIsCapturing);
	SYM(cuda, cuStreamGetCaptureInfo_v2);
	SYM(cuda, cuGraphInstantiateWithFlags);
	SYM(cuda, cuGraphLaunch);
	SYM(cuda, cuGraphExecDestroy);
	SYM(cuda, cuGraphDestroy);
	SYM(cuda, cuGraphGetNodes);
	SYM(cuda, cuGraphNodeGetType);
	SYM(cuda, cuGraphNodeSetEnabled);
	SYM(cuda, cuGraphNodeGetEnabled);
	SYM(cuda, cuGetErrorName);
	SYM(nvrtc, nvrtcCreateProgram);
	SYM(nvrtc, nvrtcCompileProgram);
	SYM(nvrtc, nvrtcGetProgramLogSize);
	SYM(nvrtc, nvrtcGetProgramLog);
	SYM(nvrtc, nvrtcGetCUBINSize);
	SYM(nvrtc, nvrtcGetCUBIN);
	SYM(nvrtc, nvrtcVersion);
	SYM(nvrtc, nvrtcGetNumSupportedArchs);
	SYM(nvrtc, nvrtcGetSupportedArchs);
	SYM(blas, cublasCreate_v2);
	SYM(blas, cublasSetStream_v2);
	SYM(blas, cublasSetMathMode);
	SYM(blas, cublasSgemm_v2);
}

#define CU(call)                                                                    \
	do {                                                                        \
		CUresult r_ = (call);                                               \
		if (r_ != 0) fail("%s:%d: %s = %u", __FILE__, __LINE__, #call, r_); \
	} while (0)

#define EXPECT(call, want)                                                                       \
	do {                                                                                     \
		unsigned r_ = (unsigned)(call);                                                  \
		if (r_ != (unsigned)(want)) fail("%s:%d: %s = %u, want %u", __FILE__, __LINE__, #call, r_, (unsigned)(want)); \
	} while (0)

static CUstream stream;
static CUcontext ctx;

static void context(void) {
	int dev;
	CU(cuInit(0));
	CU(cuDeviceGet(&dev, 0));
	CU(cuDevicePrimaryCtxRetain(&ctx, dev));
	CU(cuCtxSetCurrent(ctx));
	CU(cuStreamCreate(&stream, 1));
}

/* compile builds src with NVRTC for sm_90 and loads it. */
static CUmodule compile(const char *src) {
	void *prog;
	EXPECT(nvrtcCreateProgram(&prog, src, "simcheck.cu", 0, NULL, NULL), 0);
	const char *opts[] = {"--gpu-architecture=sm_90", "--std=c++17"};
	int r = nvrtcCompileProgram(prog, 2, opts);
	if (r != 0) {
		size_t n;
		nvrtcGetProgramLogSize(prog, &n);
		char *log = malloc(n);
		nvrtcGetProgramLog(prog, log);
		fail("nvrtcCompileProgram = %d:\n%s", r, log);
	}
	size_t n;
	EXPECT(nvrtcGetCUBINSize(prog, &n), 0);
	char *cubin = malloc(n);
	EXPECT(nvrtcGetCUBIN(prog, cubin), 0);
	CUmodule m;
	CU(cuModuleLoadData(&m, cubin));
	free(cubin);
	return m;
}

static const char *kernels =
	"extern \"C\" __global__ void fill(float *y, float v, int n) {\n"
	"  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
	"  if (i < n) y[i] = v;\n"
	"}\n"
	"// writes one element past n: the bug the out-of-bounds check must catch\n"
	"extern \"C\" __global__ void fill_past_end(float *y, float v, int n) {\n"
	"  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
	"  if (i <= n) y[i] = v;\n"
	"}\n"
	"extern \"C\" __global__ void add(float *y, float v, int n) {\n"
	"  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
	"  if (i < n) y[i] += v;\n"
	"}\n"
	"// out[t] = the value thread t+1 stored before the barrier: right only\n"
	"// if every thread stores before any reads\n"
	"__device__ void exchange(float *out) {\n"
	"  __shared__ float s[1024];\n"
	"  unsigned t = threadIdx.x;\n"
	"  s[t] = (float)(t * 10 + blockIdx.x);\n"
	"  __syncthreads();\n"
	"  out[blockIdx.x * blockDim.x + t] = s[(t + 1) % blockDim.x];\n"
	"}\n"
	"extern \"C\" __global__ void rotate(float *out) { exchange(out); }\n"
	"// reads what thread t-1 stored with no barrier in between: a race\n"
	"extern \"C\" __global__ void racy(float *out) {\n"
	"  __shared__ float s[1024];\n"
	"  unsigned t = threadIdx.x;\n"
	"  s[t] = (float)(t * 10 + blockIdx.x);\n"
	"  out[blockIdx.x * blockDim.x + t] = t > 0 ? s[t - 1] : 0.0f;\n"
	"  __syncthreads();\n"
	"}\n";

static CUfunction function(CUmodule m, const char *name) {
	CUfunction f;
	CU(cuModuleGetFunction(&f, m, name));
	return f;
}

static void *pinned(size_t n) {
	void *p;
	CU(cuMemHostAlloc(&p, n, 1));
	return p;
}

static CUresult launch_fill(CUfunction f, CUdeviceptr y, float v, int n, unsigned block) {
	void *args[] = {&y, &v, &n};
	return cuLaunchKernel(f, (n + block - 1) / block + 1, 1, 1, block, 1, 1, 0, stream, args, NULL);
}

/* ---- the cases ---- */

static void case_oob_kernel(void) {
	context();
	CUmodule m = compile(kernels);
	CUdeviceptr y;
	int n = 1000;
	CU(cuMemAlloc_v2(&y, n * sizeof(float)));
	CU(launch_fill(function(m, "fill"), y, 1, n, 128)); /* in bounds: fine */
	CU(cuStreamSynchronize(stream));
	CU(launch_fill(function(m, "fill_past_end"), y, 2, n, 128)); /* the launch itself is valid */
	EXPECT(cuStreamSynchronize(stream), 700);                    /* CUDA_ERROR_ILLEGAL_ADDRESS */
}

static void case_host_read_before_sync(void) {
	context();
	CUdeviceptr d;
	CU(cuMemAlloc_v2(&d, 4096));
	float *h = pinned(4096);
	CU(cuMemsetD32Async(d, 0x3f800000u, 1024, stream)); /* 1.0f */
	CU(cuMemcpyDtoHAsync_v2(h, d, 4096, stream));
	float early = h[7]; /* a bug: the copy has not run */
	CU(cuStreamSynchronize(stream));
	if (!isnan(early)) fail("read before cuStreamSynchronize saw %g, want the NaN of fresh pinned memory", early);
	if (h[7] != 1.0f) fail("after cuStreamSynchronize h[7] = %g, want 1", h[7]);
}

static void case_pinned_rewritten(void) {
	context();
	CUdeviceptr d;
	CU(cuMemAlloc_v2(&d, 4));
	float *h = pinned(4);
	h[0] = 1;
	CU(cuMemcpyHtoDAsync_v2(d, h, 4, stream));
	h[0] = 2; /* a bug: rewritten before the upload ran; the upload sees it */
	float *back = pinned(4);
	CU(cuMemcpyDtoHAsync_v2(back, d, 4, stream));
	CU(cuStreamSynchronize(stream));
	if (back[0] != 2) fail("the upload took %g, want the 2 written after it was queued", back[0]);
}

static void case_async_unpinned(void) {
	context();
	CUdeviceptr d;
	CU(cuMemAlloc_v2(&d, 64));
	float go_memory[16] = {0};
	const char *strict = getenv("CUDASIM_STRICT");
	CUresult want = strict && strcmp(strict, "0") == 0 ? 0 : 1; /* CUDA_ERROR_INVALID_VALUE in strict mode */
	EXPECT(cuMemcpyHtoDAsync_v2(d, go_memory, 64, stream), want);
	EXPECT(cuMemcpyDtoHAsync_v2(go_memory, d, 64, stream), want);
	CU(cuStreamSynchronize(stream)); /* not sticky */
}

static void case_launch_2048(void) {
	context();
	CUmodule m = compile(kernels);
	CUdeviceptr y;
	CU(cuMemAlloc_v2(&y, 4096 * 4));
	CUfunction f = function(m, "fill");
	EXPECT(launch_fill(f, y, 1, 4096, 2048), 1); /* CUDA_ERROR_INVALID_VALUE */
	float v = 1;
	int n = 4096;
	void *args[] = {&y, &v, &n};
	EXPECT(cuLaunchKernel(f, 1, 1, 1, 32, 32, 2, 0, stream, args, NULL), 1); /* 2,048 threads in 3 dimensions */
	EXPECT(cuLaunchKernel(f, 1, 70000, 1, 32, 1, 1, 0, stream, args, NULL), 1); /* grid y beyond 65,535 */
	void *short_args[] = {&y, &v, NULL};
	EXPECT(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, stream, short_args, NULL), 1); /* a missing argument */
	CU(launch_fill(f, y, 1, 4096, 1024)); /* 1,024 is the limit */
	CU(cuStreamSynchronize(stream));
}

static void case_use_after_free(void) {
	context();
	CUdeviceptr d;
	CU(cuMemAlloc_v2(&d, 256));
	CU(cuMemFree_v2(d));
	EXPECT(cuMemsetD32Async(d, 0, 64, stream), 700);
}

static void case_kernel_after_free(void) {
	context();
	CUmodule m = compile(kernels);
	CUdeviceptr d;
	CU(cuMemAlloc_v2(&d, 256));
	CU(cuMemFree_v2(d));
	CU(launch_fill(function(m, "fill"), d, 1, 64, 64)); /* the pointer is looked at when the kernel runs */
	EXPECT(cuStreamSynchronize(stream), 700);
}

static void case_sticky(void) {
	context();
	CUdeviceptr d, e;
	CU(cuMemAlloc_v2(&d, 256));
	EXPECT(cuMemsetD32Async(d, 0, 65, stream), 700); /* 4 bytes past the end */
	EXPECT(cuMemAlloc_v2(&e, 256), 700);
	EXPECT(cuStreamSynchronize(stream), 700);
	EXPECT(cuMemsetD32Async(d, 0, 64, stream), 700);
	EXPECT(cuMemFree_v2(d), 700);
	/* Destroying the context (its last release) clears it, as on a GPU. */
	int dev;
	CUcontext ctx;
	CU(cuDeviceGet(&dev, 0));
	CU(cuDevicePrimaryCtxRelease_v2(dev));
	CU(cuDevicePrimaryCtxRetain(&ctx, dev));
	CU(cuCtxSetCurrent(ctx));
	CU(cuMemAlloc_v2(&e, 256));
}

static void case_barrier(void) {
	context();
	CUmodule m = compile(kernels);
	enum { blocks = 3, threads = 256 };
	CUdeviceptr out;
	CU(cuMemAlloc_v2(&out, blocks * threads * 4));
	void *args[] = {&out};
	CU(cuLaunchKernel(function(m, "rotate"), blocks, 1, 1, threads, 1, 1, 0, stream, args, NULL));
	float *h = pinned(blocks * threads * 4);
	CU(cuMemcpyDtoHAsync_v2(h, out, blocks * threads * 4, stream));
	CU(cuStreamSynchronize(stream));
	for (int b = 0; b < blocks; b++) {
		for (int t = 0; t < threads; t++) {
			float want = (float)(((t + 1) % threads) * 10 + b);
			if (h[b * threads + t] != want) fail("block %d thread %d read %g, want %g", b, t, h[b * threads + t], want);
		}
	}
}

/* A read of another thread's shared-memory write without a barrier must
 * come out wrong somewhere, whichever neighbour it reads. */
static void case_race(void) {
	context();
	CUmodule m = compile(kernels);
	enum { blocks = 2, threads = 64 };
	CUdeviceptr out;
	CU(cuMemAlloc_v2(&out, blocks * threads * 4));
	void *args[] = {&out};
	CU(cuLaunchKernel(function(m, "racy"), blocks, 1, 1, threads, 1, 1, 0, stream, args, NULL));
	float *h = pinned(blocks * threads * 4);
	CU(cuMemcpyDtoHAsync_v2(h, out, blocks * threads * 4, stream));
	CU(cuStreamSynchronize(stream));
	int stale = 0;
	for (int b = 0; b < blocks; b++) {
		for (int t = 1; t < threads; t++) stale += h[b * threads + t] != (float)((t - 1) * 10 + b);
	}
	if (stale == 0) fail("a read of shared memory with no barrier after the write always saw the write");
}

static void case_nvrtc_error(void) {
	void *prog;
	EXPECT(nvrtcCreateProgram(&prog, "extern \"C\" __global__ void k(float *y) { y[0] = undeclared; }\n", "broken.cu", 0,
		NULL, NULL), 0);
	const char *opts[] = {"--gpu-architecture=sm_90"};
	EXPECT(nvrtcCompileProgram(prog, 1, opts), 6); /* NVRTC_ERROR_COMPILATION */
	size_t n;
	EXPECT(nvrtcGetProgramLogSize(prog, &n), 0);
	char *log = malloc(n);
	EXPECT(nvrtcGetProgramLog(prog, log), 0);
	if (strlen(log) + 1 != n) fail("log size %zu, strlen+1 %zu", n, strlen(log) + 1);
	if (!strstr(log, "broken.cu(1): error") || !strstr(log, "undeclared")) fail("log does not name the error:\n%s", log);
	size_t sz = 1;
	EXPECT(nvrtcGetCUBINSize(prog, &sz), 0); /* nothing compiled: size 0, as the real NVRTC answers */
	if (sz != 0) fail("CUBIN size %zu after a failed compilation, want 0", sz);
	const char *bad[] = {"--no-such-option"};
	EXPECT(nvrtcCompileProgram(prog, 1, bad), 5); /* NVRTC_ERROR_INVALID_OPTION */
}

/* Run with CUDASIM_NVRTC_VERSION=12.6: the release claims 12.6, lists
 * sm_90 as its newest and refuses sm_100 as the real one does (issue 21,
 * finding 1); compute_90 compiles. */
static void case_nvrtc_arch_cap(void) {
	int major, minor, n;
	EXPECT(nvrtcVersion(&major, &minor), 0);
	if (major != 12 || minor != 6) fail("nvrtcVersion %d.%d, want 12.6", major, minor);
	EXPECT(nvrtcGetNumSupportedArchs(&n), 0);
	int archs[64];
	if (n < 1 || n > 64) fail("%d supported architectures", n);
	EXPECT(nvrtcGetSupportedArchs(archs), 0);
	if (archs[n - 1] != 90) fail("newest supported architecture %d, want 90", archs[n - 1]);
	void *prog;
	EXPECT(nvrtcCreateProgram(&prog, "extern \"C\" __global__ void k(float *y) { y[0] = 1; }\n", "cap.cu", 0, NULL, NULL), 0);
	const char *sm100[] = {"--gpu-architecture=sm_100"};
	EXPECT(nvrtcCompileProgram(prog, 1, sm100), 5); /* NVRTC_ERROR_INVALID_OPTION */
	char log[256];
	size_t sz;
	EXPECT(nvrtcGetProgramLogSize(prog, &sz), 0);
	if (sz > sizeof log) fail("log of %zu bytes", sz);
	EXPECT(nvrtcGetProgramLog(prog, log), 0);
	if (strcmp(log, "nvrtc: error: invalid value for --gpu-architecture (-arch)\n") != 0) fail("log %s", log);
	const char *compute90[] = {"--gpu-architecture=compute_90"};
	EXPECT(nvrtcCompileProgram(prog, 1, compute90), 0);
}

static uint64_t rng = 88172645463325252ull;
static float uniform(void) {
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

/* sgemm_case runs one GEMM through the simulator and returns the largest
 * error against a naive loop in double over the float inputs. */
static double sgemm_case(void *h, unsigned math, int ta, int tb, int m, int n, int k, float alpha, float beta) {
	int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
	int lda = ar + 3, ldb = br + 1, ldc = m + 2;
	size_t na = (size_t)lda * ac, nb = (size_t)ldb * bc, nc = (size_t)ldc * n;
	float *A = pinned(na * 4), *B = pinned(nb * 4), *C = pinned(nc * 4), *C0 = malloc(nc * 4);
	for (size_t i = 0; i < na; i++) A[i] = uniform();
	for (size_t i = 0; i < nb; i++) B[i] = uniform();
	for (size_t i = 0; i < nc; i++) C[i] = C0[i] = beta == 0 ? NAN : uniform(); /* beta 0: C must not be read */
	CUdeviceptr dA, dB, dC;
	CU(cuMemAlloc_v2(&dA, na * 4));
	CU(cuMemAlloc_v2(&dB, nb * 4));
	CU(cuMemAlloc_v2(&dC, nc * 4));
	CU(cuMemcpyHtoDAsync_v2(dA, A, na * 4, stream));
	CU(cuMemcpyHtoDAsync_v2(dB, B, nb * 4, stream));
	CU(cuMemcpyHtoDAsync_v2(dC, C, nc * 4, stream));
	EXPECT(cublasSetMathMode(h, math), 0);
	EXPECT(cublasSgemm_v2(h, ta, tb, m, n, k, &alpha, (float *)(uintptr_t)dA, lda, (float *)(uintptr_t)dB, ldb, &beta,
		(float *)(uintptr_t)dC, ldc), 0);
	CU(cuMemcpyDtoHAsync_v2(C, dC, nc * 4, stream));
	CU(cuStreamSynchronize(stream));
	double worst = 0;
	for (int j = 0; j < n; j++) {
		for (int i = 0; i < m; i++) {
			double s = 0;
			for (int l = 0; l < k; l++) {
				double a = ta ? A[l + (size_t)i * lda] : A[i + (size_t)l * lda];
				double b = tb ? B[j + (size_t)l * ldb] : B[l + (size_t)j * ldb];
				s += a * b;
			}
			double want = alpha * s + (beta == 0 ? 0 : beta * (double)C0[i + (size_t)j * ldc]);
			double err = fabs(C[i + (size_t)j * ldc] - want) / (1 + fabs(want));
			if (!(err <= worst)) worst = isnan(err) ? INFINITY : err;
		}
		for (int i = m; i < ldc; i++) { /* padding rows untouched */
			float got = C[i + (size_t)j * ldc], was = C0[i + (size_t)j * ldc];
			if (memcmp(&got, &was, 4) != 0) fail("Sgemm wrote C(%d,%d), outside the m x n result", i, j);
		}
	}
	CU(cuMemFree_v2(dA));
	CU(cuMemFree_v2(dB));
	CU(cuMemFree_v2(dC));
	CU(cuMemFreeHost(A));
	CU(cuMemFreeHost(B));
	CU(cuMemFreeHost(C));
	free(C0);
	return worst;
}

static void case_sgemm(void) {
	context();
	void *h;
	EXPECT(cublasCreate_v2(&h), 0);
	EXPECT(cublasSetStream_v2(h, stream), 0);
	double tf32_worst = 0;
	for (int trial = 0; trial < 24; trial++) {
		int ta = trial & 1, tb = (trial >> 1) & 1;
		int m = 1 + (int)((uniform() + 1) * 20), n = 1 + (int)((uniform() + 1) * 20), k = 1 + (int)((uniform() + 1) * 40);
		float alpha = trial % 3 ? 1.5f : 1.0f, beta = trial % 4 == 0 ? 0.0f : 0.5f;
		double e = sgemm_case(h, 2, ta, tb, m, n, k, alpha, beta); /* CUBLAS_PEDANTIC_MATH */
		if (e > 1e-6) fail("pedantic Sgemm ta=%d tb=%d %dx%dx%d: error %g", ta, tb, m, n, k, e);
		e = sgemm_case(h, 0, ta, tb, m, n, k, alpha, beta); /* CUBLAS_DEFAULT_MATH: no TF32 either */
		if (e > 1e-6) fail("default-math Sgemm ta=%d tb=%d %dx%dx%d: error %g", ta, tb, m, n, k, e);
		e = sgemm_case(h, 3, ta, tb, m, n, k, alpha, beta); /* CUBLAS_TF32_TENSOR_OP_MATH */
		if (e > 1e-2) fail("TF32 Sgemm ta=%d tb=%d %dx%dx%d: error %g", ta, tb, m, n, k, e);
		if (e > tf32_worst) tf32_worst = e;
	}
	/* TF32 keeps 10 mantissa bits: its error must show, or FP32 mode
	 * leaking TF32 could not be caught. */
	if (tf32_worst < 1e-4) fail("TF32 Sgemm error %g: inputs not rounded to TF32", tf32_worst);
}

static void case_out_of_memory(void) {
	context(); /* run with CUDASIM_MEMORY=1MiB */
	CUdeviceptr a, b;
	CU(cuMemAlloc_v2(&a, 768 << 10));
	EXPECT(cuMemAlloc_v2(&b, 512 << 10), 2); /* CUDA_ERROR_OUT_OF_MEMORY, not sticky */
	CU(cuMemFree_v2(a));
	CU(cuMemAlloc_v2(&b, 512 << 10));
}

static void case_nan_fill(void) {
	context();
	CUdeviceptr d;
	CU(cuMemAlloc_v2(&d, 64));
	float *h = pinned(64);
	for (int i = 0; i < 16; i++) {
		if (!isnan(h[i])) fail("pinned[%d] = %g, want NaN", i, h[i]);
	}
	CU(cuMemcpyDtoHAsync_v2(h, d, 64, stream));
	CU(cuStreamSynchronize(stream));
	for (int i = 0; i < 16; i++) {
		if (!isnan(h[i])) fail("device[%d] = %g, want NaN", i, h[i]);
	}
}

static void case_stats(void) {
	context(); /* run with CUDASIM_STATS set */
	CUmodule m = compile(kernels);
	CUdeviceptr y;
	CU(cuMemAlloc_v2(&y, 400));
	for (int i = 0; i < 3; i++) CU(launch_fill(function(m, "fill"), y, 1, 100, 32));
	CU(cuStreamSynchronize(stream));
}

static CUresult launch_add(CUfunction f, CUdeviceptr y, float v, int n) {
	void *args[] = {&y, &v, &n};
	return cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, stream, args, NULL);
}

/* y (n floats) as the device holds it now: copied into h, synchronised. */
static void read_back(float *h, CUdeviceptr y, int n) {
	CU(cuMemcpyDtoHAsync_v2(h, y, n * sizeof(float), stream));
	CU(cuStreamSynchronize(stream));
}

static void want_all(const float *h, int n, float want, const char *what) {
	for (int i = 0; i < n; i++) {
		if (h[i] != want) fail("%s: [%d] = %g, want %g", what, i, h[i], want);
	}
}

/* Capture records and does not run; each launch replays the graph in order
 * on the stream, reading memory when it runs; a disabled node does nothing;
 * an executable graph outlives its graph. */
static void case_graph_replay(void) {
	context();
	CUmodule m = compile(kernels);
	CUfunction add = function(m, "add");
	enum { N = 8 };
	CUdeviceptr y;
	CU(cuMemAlloc_v2(&y, N * 4));
	float *src = pinned(N * 4), *out = pinned(N * 4), *check = pinned(N * 4);
	CU(cuMemsetD32Async(y, 0, N, stream));
	for (int i = 0; i < N; i++) src[i] = 1000, out[i] = -7;

	unsigned st = 9;
	CU(cuStreamIsCapturing(stream, &st));
	EXPECT(st, 0);
	CU(cuStreamBeginCapture_v2(stream, 0)); /* CU_STREAM_CAPTURE_MODE_GLOBAL */
	CU(cuStreamIsCapturing(stream, &st));
	EXPECT(st, 1);
	CU(launch_add(add, y, 1, N));
	CUgraph during = NULL;
	const CUgraphNode *deps = NULL;
	size_t ndeps = 9;
	uint64_t id = 0;
	CU(cuStreamGetCaptureInfo_v2(stream, &st, &id, &during, &deps, &ndeps));
	if (st != 1 || id == 0 || during == NULL || ndeps != 1 || deps == NULL || deps[0] == NULL)
		fail("capture info: status %u id %llu graph %p %zu dependencies", st, (unsigned long long)id, during, ndeps);
	CUgraphNode first = deps[0];
	CU(launch_add(add, y, 10, N));
	CU(cuMemcpyDtoHAsync_v2(out, y, N * 4, stream));
	CU(cuMemcpyHtoDAsync_v2(y, src, N * 4, stream)); /* reads src when it runs */
	CUgraph g = NULL;
	CU(cuStreamEndCapture(stream, &g));
	if (g != during) fail("cuStreamEndCapture returned %p, cuStreamGetCaptureInfo_v2 %p", g, during);
	CU(cuStreamIsCapturing(stream, &st));
	EXPECT(st, 0);

	/* Nothing ran: y still 0, out untouched. */
	read_back(check, y, N);
	want_all(check, N, 0, "y after capture");
	want_all(out, N, -7, "the captured copy's destination after capture");

	size_t nn = 0;
	CU(cuGraphGetNodes(g, NULL, &nn));
	EXPECT(nn, 4);
	CUgraphNode nodes[6];
	nn = 6;
	CU(cuGraphGetNodes(g, nodes, &nn));
	if (nn != 4 || nodes[4] != NULL || nodes[5] != NULL || nodes[0] != first) fail("cuGraphGetNodes: %zu nodes", nn);
	unsigned types[4];
	for (int i = 0; i < 4; i++) CU(cuGraphNodeGetType(nodes[i], &types[i]));
	if (types[0] != 0 || types[1] != 0 || types[2] != 1 || types[3] != 1)
		fail("node types %u %u %u %u, want kernel kernel memcpy memcpy", types[0], types[1], types[2], types[3]);

	CUgraphExec e;
	EXPECT(cuGraphInstantiateWithFlags(&e, g, 1), 1); /* flags are not simulated */
	CU(cuGraphInstantiateWithFlags(&e, g, 0));
	CU(cuGraphLaunch(e, stream));
	CU(cuStreamSynchronize(stream));
	want_all(out, N, 11, "out after the first launch (0 + 1 + 10)");
	read_back(check, y, N);
	want_all(check, N, 1000, "y after the first launch (the captured upload)");
	for (int i = 0; i < N; i++) src[i] = 2000; /* the next launch uploads the new contents */
	CU(cuGraphLaunch(e, stream));
	CU(cuStreamSynchronize(stream));
	want_all(out, N, 1011, "out after the second launch");
	read_back(check, y, N);
	want_all(check, N, 2000, "y after the second launch");

	/* A disabled node is an empty node; only future launches see the change. */
	unsigned en = 9;
	CU(cuGraphNodeGetEnabled(e, nodes[1], &en));
	EXPECT(en, 1);
	CU(cuGraphNodeSetEnabled(e, nodes[1], 0));
	CU(cuGraphNodeGetEnabled(e, nodes[1], &en));
	EXPECT(en, 0);
	CU(cuGraphLaunch(e, stream));
	CU(cuGraphNodeSetEnabled(e, nodes[1], 1)); /* after the launch: does not change it */
	CU(cuStreamSynchronize(stream));
	want_all(out, N, 2001, "out with the add-10 node disabled");
	CU(cuGraphLaunch(e, stream));
	CU(cuStreamSynchronize(stream));
	want_all(out, N, 2011, "out with the node enabled again");

	/* A node of another graph is not a node of e. */
	CU(cuStreamBeginCapture_v2(stream, 0));
	CU(launch_add(add, y, 1, N));
	CUgraph g2;
	CU(cuStreamEndCapture(stream, &g2));
	CUgraphNode other;
	nn = 1;
	CU(cuGraphGetNodes(g2, &other, &nn));
	EXPECT(cuGraphNodeSetEnabled(e, other, 0), 1);
	CU(cuGraphDestroy(g2));
	EXPECT(cuGraphGetNodes(g2, NULL, &nn), 1); /* destroyed */

	/* The executable graph outlives its graph; a destroyed one is gone,
	 * but a launch already queued still runs. */
	CU(cuGraphDestroy(g));
	CU(cuGraphLaunch(e, stream));
	CU(cuGraphExecDestroy(e));
	CU(cuStreamSynchronize(stream));
	want_all(out, N, 2011, "out of a launch queued before cuGraphExecDestroy");
	EXPECT(cuGraphLaunch(e, stream), 1);
	EXPECT(cuGraphExecDestroy(e), 1);
}

struct end_args {
	CUgraph g;
	CUresult r;
};

static void *end_elsewhere(void *p) {
	struct end_args *a = p;
	CU(cuCtxSetCurrent(ctx));
	a->r = cuStreamEndCapture(stream, &a->g);
	return NULL;
}

/* What the driver forbids during capture fails as documented and
 * invalidates the capture, whose end then returns no graph. */
static void case_graph_illegal(void) {
	context();
	CUmodule m = compile(kernels);
	CUfunction add = function(m, "add");
	CUdeviceptr y, y2;
	CU(cuMemAlloc_v2(&y, 64));
	float *h = pinned(64);
	CUgraph g = (CUgraph)1;
	unsigned st;

	EXPECT(cuStreamBeginCapture_v2(NULL, 0), 900); /* not on the legacy stream */
	EXPECT(cuStreamEndCapture(stream, &g), 401);   /* CUDA_ERROR_ILLEGAL_STATE: not capturing */
	EXPECT(cuStreamBeginCapture_v2(stream, 3), 1);

	/* A synchronisation of the capturing stream. */
	CU(cuStreamBeginCapture_v2(stream, 0));
	EXPECT(cuStreamBeginCapture_v2(stream, 0), 401); /* already capturing */
	CU(launch_add(add, y, 1, 16));
	EXPECT(cuStreamSynchronize(stream), 900); /* CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED */
	CU(cuStreamIsCapturing(stream, &st));
	EXPECT(st, 2); /* CU_STREAM_CAPTURE_STATUS_INVALIDATED */
	EXPECT(launch_add(add, y, 1, 16), 901);
	EXPECT(cuStreamEndCapture(stream, &g), 901);
	if (g != NULL) fail("an invalidated capture returned graph %p", g);
	CU(cuStreamIsCapturing(stream, &st));
	EXPECT(st, 0);
	const char *name;
	CU(cuGetErrorName(901, &name));
	if (strcmp(name, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED") != 0) fail("cuGetErrorName(901) = %s", name);

	/* An allocation, a free, a pinned allocation. */
	CU(cuStreamBeginCapture_v2(stream, 0));
	EXPECT(cuMemAlloc_v2(&y2, 64), 900);
	EXPECT(cuStreamEndCapture(stream, &g), 901);
	CU(cuStreamBeginCapture_v2(stream, 1)); /* thread-local: this thread is still prohibited */
	EXPECT(cuMemFree_v2(y), 900);
	EXPECT(cuStreamEndCapture(stream, &g), 901);
	CU(cuStreamBeginCapture_v2(stream, 0));
	void *p;
	EXPECT(cuMemHostAlloc(&p, 64, 0), 900);
	EXPECT(cuStreamEndCapture(stream, &g), 901);

	/* Relaxed mode allows an allocation. */
	CU(cuStreamBeginCapture_v2(stream, 2));
	CU(cuMemAlloc_v2(&y2, 64));
	CU(launch_add(add, y2, 1, 16));
	CU(cuStreamEndCapture(stream, &g));
	CU(cuGraphDestroy(g));

	/* A copy from pageable memory, in any mode. */
	static float pageable[16];
	CU(cuStreamBeginCapture_v2(stream, 2));
	EXPECT(cuMemcpyHtoDAsync_v2(y, pageable, 64, stream), 900);
	EXPECT(cuStreamEndCapture(stream, &g), 901);

	/* The legacy stream while a blocking stream captures. */
	CUstream blocking;
	CU(cuStreamCreate(&blocking, 0));
	CU(cuStreamBeginCapture_v2(blocking, 0));
	EXPECT(cuStreamIsCapturing(NULL, &st), 906); /* CUDA_ERROR_STREAM_CAPTURE_IMPLICIT, not invalidated */
	CU(cuStreamIsCapturing(blocking, &st));
	EXPECT(st, 1);
	EXPECT(cuMemsetD32Async(y, 0, 16, NULL), 906);
	CU(cuStreamIsCapturing(blocking, &st));
	EXPECT(st, 2);
	EXPECT(cuStreamEndCapture(blocking, &g), 901);

	/* Ending a global-mode capture from another thread. */
	CU(cuStreamBeginCapture_v2(stream, 0));
	struct end_args a = {0};
	pthread_t t;
	if (pthread_create(&t, NULL, end_elsewhere, &a) != 0) fail("pthread_create");
	pthread_join(t, NULL);
	EXPECT(a.r, 908); /* CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD */
	CU(cuStreamEndCapture(stream, &g));
	CU(cuGraphDestroy(g)); /* empty */

	/* The stream works as before. */
	CU(cuMemsetD32Async(y, 0, 16, stream));
	CU(launch_add(add, y, 5, 16));
	read_back(h, y, 16);
	want_all(h, 16, 5, "y after the refused captures");
}

/* The counters of capture and replay (sim_test.go reads them). */
static void case_graph_stats(void) {
	context();                       /* 5 API calls */
	CUmodule m = compile(kernels);   /* 5 */
	CUfunction add = function(m, "add"); /* 1 */
	CUdeviceptr y;
	CU(cuMemAlloc_v2(&y, 128));      /* 1 */
	CU(cuStreamBeginCapture_v2(stream, 0)); /* 1 */
	for (int i = 0; i < 3; i++) CU(launch_add(add, y, 1, 32)); /* 3 */
	CUgraph g;
	CU(cuStreamEndCapture(stream, &g)); /* 1 */
	CUgraphExec e;
	CU(cuGraphInstantiateWithFlags(&e, g, 0)); /* 1 */
	CU(cuGraphLaunch(e, stream));    /* 1 */
	CU(cuGraphLaunch(e, stream));    /* 1 */
	CU(cuStreamSynchronize(stream)); /* 1: 21 in all */
}

/* Options, headers, a virtual architecture, a foreign image and the packed
 * `extra` form of launch arguments. */
static void case_nvrtc_options(void) {
	context();
	const char *hdr = "#define HVAL 20\n";
	const char *hname = "vals.h";
	void *prog;
	EXPECT(nvrtcCreateProgram(&prog,
		"#include \"vals.h\"\n"
		"extern \"C\" __global__ void put(float *y, float v, int n) { if (threadIdx.x < n) y[threadIdx.x] = v + VAL + HVAL; }\n",
		"opts.cu", 1, &hdr, &hname), 0);
	const char *virt[] = {"-arch=compute_90", "-DVAL=3"};
	EXPECT(nvrtcCompileProgram(prog, 2, virt), 0);
	size_t n = 1;
	EXPECT(nvrtcGetCUBINSize(prog, &n), 0);
	if (n != 0) fail("CUBIN size %zu for a virtual architecture, want 0", n);
	char one = 'x';
	EXPECT(nvrtcGetCUBIN(prog, &one), 0); /* writes nothing, as the real NVRTC does */
	if (one != 'x') fail("nvrtcGetCUBIN wrote a CUBIN for a virtual architecture");
	const char *real[] = {"--gpu-architecture", "sm_90", "--define-macro=VAL=3", "-lineinfo"};
	EXPECT(nvrtcCompileProgram(prog, 4, real), 0);
	EXPECT(nvrtcGetCUBINSize(prog, &n), 0);
	char *cubin = malloc(n);
	EXPECT(nvrtcGetCUBIN(prog, cubin), 0);
	CUmodule m;
	CU(cuModuleLoadData(&m, cubin));
	static const char elf[64] = "\x7f" "ELF"; /* a real CUBIN is an ELF for the GPU */
	CUmodule bad;
	EXPECT(cuModuleLoadData(&bad, elf), 200); /* CUDA_ERROR_INVALID_IMAGE */
	CUfunction f = function(m, "put");
	CUfunction none;
	EXPECT(cuModuleGetFunction(&none, m, "no_such_kernel"), 500); /* CUDA_ERROR_NOT_FOUND */
	CUdeviceptr y;
	CU(cuMemAlloc_v2(&y, 16));
	struct {
		CUdeviceptr y;
		float v;
		int n;
	} packed = {y, 1.5f, 4};
	size_t size = sizeof packed;
	void *extra[] = {(void *)1, &packed, (void *)2, &size, NULL}; /* BUFFER_POINTER, BUFFER_SIZE, END */
	CU(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, stream, NULL, extra));
	size = 12;
	EXPECT(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, stream, NULL, extra), 1); /* size does not match */
	float *h = pinned(16);
	CU(cuMemcpyDtoHAsync_v2(h, y, 16, stream));
	CU(cuStreamSynchronize(stream));
	for (int i = 0; i < 4; i++) {
		if (h[i] != 24.5f) fail("y[%d] = %g, want 1.5 + VAL 3 + HVAL 20", i, h[i]);
	}
}

#include "simcheck_cond.c"
#include "simcheck_blas.c"
#include "simcheck_devices.c"

int main(int argc, char **argv) {
	if (argc != 3) fail("usage: simcheck DIR CASE");
	load(argv[1]);
	load_cond(argv[1]);
	load_blas(argv[1]);
	load_devices(argv[1]);
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{"oob_kernel", case_oob_kernel},
		{"host_read_before_sync", case_host_read_before_sync},
		{"pinned_rewritten", case_pinned_rewritten},
		{"async_unpinned", case_async_unpinned},
		{"launch_2048", case_launch_2048},
		{"use_after_free", case_use_after_free},
		{"kernel_after_free", case_kernel_after_free},
		{"sticky", case_sticky},
		{"barrier", case_barrier},
		{"race", case_race},
		{"nvrtc_error", case_nvrtc_error},
		{"nvrtc_options", case_nvrtc_options},
		{"nvrtc_arch_cap", case_nvrtc_arch_cap},
		{"sgemm", case_sgemm},
		{"out_of_memory", case_out_of_memory},
		{"nan_fill", case_nan_fill},
		{"stats", case_stats},
		{"graph_replay", case_graph_replay},
		{"graph_illegal", case_graph_illegal},
		{"graph_stats", case_graph_stats},
		{"cond_if", case_cond_if},
		{"cond_else", case_cond_else},
		{"cond_default", case_cond_default},
		{"cond_unset", case_cond_unset},
		{"cond_set_eager", case_cond_set_eager},
		{"cond_set_foreign", case_cond_set_foreign},
		{"cond_errors", case_cond_errors},
		{"cond_body_forbidden", case_cond_body_forbidden},
		{"cond_api", case_cond_api},
		{"child_clone", case_child_clone},
		{"blas_workspace", case_blas_workspace},
		{"blas_tf32_ties", case_blas_tf32_ties},
		{"devices", case_devices},
		{"devices_busy", case_devices_busy},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (strcmp(cases[i].name, argv[2]) == 0) {
			cases[i].fn();
			printf("ok\n");
			return 0;
		}
	}
	fail("no case %s", argv[2]);
}
