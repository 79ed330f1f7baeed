/*
 * cuda_calls.h: C wrappers through the function tables of cuda_shim.h
 * (cgo cannot call a function pointer).
 */
#ifndef DEEPRES_CUDA_CALLS_H
#define DEEPRES_CUDA_CALLS_H

#include <stdint.h>
#include <string.h>
#include "cuda_shim.h"

static dr_CUresult dr_cuInit(void) { return dr_cu.cuInit(0); }
static dr_CUresult dr_cuDriverGetVersion(int *v) { return dr_cu.cuDriverGetVersion(v); }
static dr_CUresult dr_cuDeviceGetCount(int *n) { return dr_cu.cuDeviceGetCount(n); }
static dr_CUresult dr_cuDeviceGet(dr_CUdevice *d, int ordinal) { return dr_cu.cuDeviceGet(d, ordinal); }
static dr_CUresult dr_cuDeviceGetName(char *name, int len, dr_CUdevice d) { return dr_cu.cuDeviceGetName(name, len, d); }
static dr_CUresult dr_cuDeviceGetAttribute(int *v, dr_CUdevice_attribute a, dr_CUdevice d) { return dr_cu.cuDeviceGetAttribute(v, a, d); }
static dr_CUresult dr_cuDeviceTotalMem(size_t *b, dr_CUdevice d) { return dr_cu.cuDeviceTotalMem_v2(b, d); }
static dr_CUresult dr_cuDevicePrimaryCtxRetain(dr_CUcontext *c, dr_CUdevice d) { return dr_cu.cuDevicePrimaryCtxRetain(c, d); }
static dr_CUresult dr_cuDevicePrimaryCtxRelease(dr_CUdevice d) { return dr_cu.cuDevicePrimaryCtxRelease_v2(d); }
static dr_CUresult dr_cuCtxSetCurrent(dr_CUcontext c) { return dr_cu.cuCtxSetCurrent(c); }
static dr_CUresult dr_cuMemGetInfo(size_t *free, size_t *total) { return dr_cu.cuMemGetInfo_v2(free, total); }
static dr_CUresult dr_cuMemAlloc(dr_CUdeviceptr *p, size_t n) { return dr_cu.cuMemAlloc_v2(p, n); }
static dr_CUresult dr_cuMemFree(dr_CUdeviceptr p) { return dr_cu.cuMemFree_v2(p); }
static dr_CUresult dr_cuMemHostAlloc(void **p, size_t n) { return dr_cu.cuMemHostAlloc(p, n, DR_CU_MEMHOSTALLOC_PORTABLE); }
static dr_CUresult dr_cuMemFreeHost(void *p) { return dr_cu.cuMemFreeHost(p); }
static dr_CUresult dr_cuMemcpyHtoDAsync(dr_CUdeviceptr dst, const void *src, size_t n, dr_CUstream s) { return dr_cu.cuMemcpyHtoDAsync_v2(dst, src, n, s); }
static dr_CUresult dr_cuMemcpyDtoHAsync(void *dst, dr_CUdeviceptr src, size_t n, dr_CUstream s) { return dr_cu.cuMemcpyDtoHAsync_v2(dst, src, n, s); }
static dr_CUresult dr_cuMemcpyDtoDAsync(dr_CUdeviceptr dst, dr_CUdeviceptr src, size_t n, dr_CUstream s) { return dr_cu.cuMemcpyDtoDAsync_v2(dst, src, n, s); }
static dr_CUresult dr_cuMemsetD32Async(dr_CUdeviceptr dst, unsigned int v, size_t n, dr_CUstream s) { return dr_cu.cuMemsetD32Async(dst, v, n, s); }
static dr_CUresult dr_cuStreamCreate(dr_CUstream *s) { return dr_cu.cuStreamCreate(s, DR_CU_STREAM_NON_BLOCKING); }
static dr_CUresult dr_cuStreamDestroy(dr_CUstream s) { return dr_cu.cuStreamDestroy_v2(s); }
static dr_CUresult dr_cuStreamSynchronize(dr_CUstream s) { return dr_cu.cuStreamSynchronize(s); }
static dr_CUresult dr_cuModuleLoadData(dr_CUmodule *m, const void *image) { return dr_cu.cuModuleLoadData(m, image); }
static dr_CUresult dr_cuModuleUnload(dr_CUmodule m) { return dr_cu.cuModuleUnload(m); }
static dr_CUresult dr_cuModuleGetFunction(dr_CUfunction *f, dr_CUmodule m, const char *name) { return dr_cu.cuModuleGetFunction(f, m, name); }
static dr_CUresult dr_cuStreamBeginCapture(dr_CUstream s) { return dr_cu.cuStreamBeginCapture_v2(s, DR_CU_STREAM_CAPTURE_MODE_THREAD_LOCAL); }
static dr_CUresult dr_cuStreamEndCapture(dr_CUstream s, dr_CUgraph *g) { return dr_cu.cuStreamEndCapture(s, g); }
static dr_CUresult dr_cuStreamIsCapturing(dr_CUstream s, dr_CUstreamCaptureStatus *st) { return dr_cu.cuStreamIsCapturing(s, st); }
static dr_CUresult dr_cuGraphInstantiate(dr_CUgraphExec *e, dr_CUgraph g) { return dr_cu.cuGraphInstantiateWithFlags(e, g, 0); }
static dr_CUresult dr_cuGraphLaunch(dr_CUgraphExec e, dr_CUstream s) { return dr_cu.cuGraphLaunch(e, s); }
static dr_CUresult dr_cuGraphExecDestroy(dr_CUgraphExec e) { return dr_cu.cuGraphExecDestroy(e); }
static dr_CUresult dr_cuGraphDestroy(dr_CUgraph g) { return dr_cu.cuGraphDestroy(g); }
static dr_CUresult dr_cuGraphCreate(dr_CUgraph *g) { return dr_cu.cuGraphCreate(g, 0); }
static dr_CUresult dr_cuGraphNodeCount(dr_CUgraph g, size_t *n) { return dr_cu.cuGraphGetNodes(g, NULL, n); }
/* Graphs here are chains: each node depends on the one before (last, or
 * nothing when last is NULL). */
static dr_CUresult dr_cuGraphAddChild(dr_CUgraphNode *n, dr_CUgraph g, dr_CUgraphNode last, dr_CUgraph child) {
	return dr_cu.cuGraphAddChildGraphNode(n, g, last ? &last : NULL, last ? 1 : 0, child);
}
static dr_CUresult dr_cuGraphConditionalHandleCreate(dr_CUgraphConditionalHandle *h, dr_CUgraph g, dr_CUcontext ctx) {
	return dr_cu.cuGraphConditionalHandleCreate(h, g, ctx, 0, 0);
}
/* An IF node on h with size bodies (2: IF/ELSE, CUDA 12.8), returned in
 * bodies[0..size) (the driver's graphs). */
static dr_CUresult dr_cuGraphAddIf(dr_CUgraphNode *n, dr_CUgraph g, dr_CUgraphNode last, dr_CUgraphConditionalHandle h,
		dr_CUcontext ctx, unsigned int size, dr_CUgraph *bodies) {
	dr_CUgraphNodeParams p;
	memset(&p, 0, sizeof p);
	p.type = DR_CU_GRAPH_NODE_TYPE_CONDITIONAL;
	p.params.conditional.handle = h;
	p.params.conditional.type = DR_CU_GRAPH_COND_TYPE_IF;
	p.params.conditional.size = size;
	p.params.conditional.ctx = ctx;
	dr_CUresult r = dr_cu.cuGraphAddNode_v2(n, g, last ? &last : NULL, NULL, last ? 1 : 0, &p);
	if (r == DR_CUDA_SUCCESS)
		for (unsigned int i = 0; i < size; i++) bodies[i] = p.params.conditional.phGraph_out[i];
	return r;
}

/* Every kernel argument travels in an 8-byte slot holding the value in its
 * low bytes (little-endian), so one array serves pointers, ints and floats:
 * the driver reads sizeof(parameter) bytes from each kernelParams entry. */
#define DR_MAX_KERNEL_ARGS 24
static dr_CUresult dr_launch(dr_CUfunction f, unsigned int grid, unsigned int block, dr_CUstream s,
		unsigned long long *slots, int nargs) {
	/* The unused entries are NULL, not stack garbage: a launch that passes
	 * fewer arguments than the kernel takes then reads NULL, which the
	 * simulator's argument check names (internal/cudasim). */
	void *params[DR_MAX_KERNEL_ARGS] = {0};
	for (int i = 0; i < nargs && i < DR_MAX_KERNEL_ARGS; i++) params[i] = &slots[i];
	return dr_cu.cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, s, params, NULL);
}

/* The error text, or NULL when the driver does not know the code. */
static const char *dr_cuErrorString(dr_CUresult r) {
	const char *name = NULL;
	if (dr_cu.cuGetErrorName == NULL || dr_cu.cuGetErrorName(r, &name) != DR_CUDA_SUCCESS) return NULL;
	return name;
}
static const char *dr_cuErrorDescription(dr_CUresult r) {
	const char *s = NULL;
	if (dr_cu.cuGetErrorString == NULL || dr_cu.cuGetErrorString(r, &s) != DR_CUDA_SUCCESS) return NULL;
	return s;
}

static dr_cublasStatus dr_cublasCreate(dr_cublasHandle *h) { return dr_cublas.cublasCreate_v2(h); }
static dr_cublasStatus dr_cublasDestroy(dr_cublasHandle h) { return dr_cublas.cublasDestroy_v2(h); }
static dr_cublasStatus dr_cublasSetStream(dr_cublasHandle h, dr_CUstream s) { return dr_cublas.cublasSetStream_v2(h, s); }
static dr_cublasStatus dr_cublasSetWorkspace(dr_cublasHandle h, unsigned long long p, size_t n) {
	return dr_cublas.cublasSetWorkspace_v2(h, (void *)(uintptr_t)p, n);
}
static dr_cublasStatus dr_cublasSetMathMode(dr_cublasHandle h, dr_cublasMath m) { return dr_cublas.cublasSetMathMode(h, m); }
static dr_cublasStatus dr_cublasGetProperty(dr_libraryPropertyType t, int *v) { return dr_cublas.cublasGetProperty(t, v); }
static const char *dr_cublasGetStatusString(dr_cublasStatus s) { return dr_cublas.cublasGetStatusString(s); }
static dr_cublasStatus dr_sgemm(dr_cublasHandle h, dr_cublasOperation ta, dr_cublasOperation tb, int m, int n, int k,
		float alpha, unsigned long long A, int lda, unsigned long long B, int ldb, float beta, unsigned long long C, int ldc) {
	return dr_cublas.cublasSgemm_v2(h, ta, tb, m, n, k, &alpha, (const float *)(uintptr_t)A, lda,
		(const float *)(uintptr_t)B, ldb, &beta, (float *)(uintptr_t)C, ldc);
}
/* cublasGemmEx computing in float (CUBLAS_COMPUTE_32F, float alpha and beta)
 * with the default algorithm choice. */
static dr_cublasStatus dr_gemmEx(dr_cublasHandle h, dr_cublasOperation ta, dr_cublasOperation tb, int m, int n, int k,
		float alpha, unsigned long long A, dr_cudaDataType at, int lda, unsigned long long B, dr_cudaDataType bt, int ldb,
		float beta, unsigned long long C, dr_cudaDataType ct, int ldc) {
	return dr_cublas.cublasGemmEx(h, ta, tb, m, n, k, &alpha, (const void *)(uintptr_t)A, at, lda,
		(const void *)(uintptr_t)B, bt, ldb, &beta, (void *)(uintptr_t)C, ct, ldc, DR_CUBLAS_COMPUTE_32F, DR_CUBLAS_GEMM_DEFAULT);
}

static const char *dr_nvrtcGetErrorString(dr_nvrtcResult r) { return dr_nvrtc.nvrtcGetErrorString(r); }
static dr_nvrtcResult dr_nvrtcVersion(int *major, int *minor) { return dr_nvrtc.nvrtcVersion(major, minor); }
static dr_nvrtcResult dr_nvrtcCreateProgram(dr_nvrtcProgram *p, const char *src, const char *name) {
	return dr_nvrtc.nvrtcCreateProgram(p, src, name, 0, NULL, NULL);
}
static dr_nvrtcResult dr_nvrtcDestroyProgram(dr_nvrtcProgram *p) { return dr_nvrtc.nvrtcDestroyProgram(p); }
static dr_nvrtcResult dr_nvrtcCompileProgram(dr_nvrtcProgram p, int n, const char *const *opts) { return dr_nvrtc.nvrtcCompileProgram(p, n, opts); }
static dr_nvrtcResult dr_nvrtcGetProgramLogSize(dr_nvrtcProgram p, size_t *n) { return dr_nvrtc.nvrtcGetProgramLogSize(p, n); }
static dr_nvrtcResult dr_nvrtcGetProgramLog(dr_nvrtcProgram p, char *log) { return dr_nvrtc.nvrtcGetProgramLog(p, log); }
static dr_nvrtcResult dr_nvrtcGetCUBINSize(dr_nvrtcProgram p, size_t *n) { return dr_nvrtc.nvrtcGetCUBINSize(p, n); }
static dr_nvrtcResult dr_nvrtcGetCUBIN(dr_nvrtcProgram p, char *out) { return dr_nvrtc.nvrtcGetCUBIN(p, out); }
static dr_nvrtcResult dr_nvrtcGetPTXSize(dr_nvrtcProgram p, size_t *n) { return dr_nvrtc.nvrtcGetPTXSize(p, n); }
static dr_nvrtcResult dr_nvrtcGetPTX(dr_nvrtcProgram p, char *out) { return dr_nvrtc.nvrtcGetPTX(p, out); }
static dr_nvrtcResult dr_nvrtcGetNumSupportedArchs(int *n) { return dr_nvrtc.nvrtcGetNumSupportedArchs(n); }
static dr_nvrtcResult dr_nvrtcGetSupportedArchs(int *archs) { return dr_nvrtc.nvrtcGetSupportedArchs(archs); }

#endif
