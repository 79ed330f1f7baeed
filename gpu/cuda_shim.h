/*
 * cuda_shim.h: our own declarations of the parts of the CUDA driver API,
 * cuBLAS v2 and NVRTC that deepres calls, as function-pointer typedefs filled
 * by dlsym (see driver.go). Written from NVIDIA's public API documentation;
 * scripts/gpu/abi-check.c compiles this file together with the real cuda.h,
 * cublas_v2.h and nvrtc.h and asserts that every typedef and enum value here
 * matches. A wrong prototype compiles and corrupts memory: change this file
 * only together with that check.
 *
 * Enums are declared as unsigned int: GCC gives an enum with no negative
 * values the compatible type unsigned int, so the typedefs stay
 * type-compatible with the real ones. Handles use NVIDIA's own struct tags.
 */
#ifndef DEEPRES_CUDA_SHIM_H
#define DEEPRES_CUDA_SHIM_H

#include <stddef.h>
#include <stdint.h>

/* ---- CUDA driver API (cuda.h) ---- */
typedef unsigned int dr_CUresult;            /* enum cudaError_enum */
typedef int dr_CUdevice;                     /* CUdevice_v1 */
typedef unsigned long long dr_CUdeviceptr;   /* CUdeviceptr_v2 on LP64 */
typedef unsigned int dr_CUdevice_attribute;  /* enum CUdevice_attribute_enum */
typedef struct CUctx_st *dr_CUcontext;
typedef struct CUstream_st *dr_CUstream;
typedef struct CUmod_st *dr_CUmodule;
typedef struct CUfunc_st *dr_CUfunction;
typedef struct CUgraph_st *dr_CUgraph;
typedef struct CUgraphExec_st *dr_CUgraphExec;
typedef unsigned int dr_CUstreamCaptureMode;   /* enum CUstreamCaptureMode_enum */
typedef unsigned int dr_CUstreamCaptureStatus; /* enum CUstreamCaptureStatus_enum */
typedef struct CUgraphNode_st *dr_CUgraphNode;
/* cuda.h: typedef cuuint64_t CUgraphConditionalHandle, and cuuint64_t is
 * uint64_t (unsigned long on LP64, not unsigned long long: same size, but a
 * different C type, so the prototypes would not match). */
typedef uint64_t dr_CUgraphConditionalHandle;

/* Conditional nodes (CUDA 12.3+; Driver API "Graph Management",
 * CUDA_CONDITIONAL_NODE_PARAMS and CUgraphNodeParams). The driver writes
 * phGraph_out: its own array of the node's body graphs. */
typedef struct {
	dr_CUgraphConditionalHandle handle;
	unsigned int type; /* CUgraphConditionalNodeType */
	unsigned int size;
	dr_CUgraph *phGraph_out;
	dr_CUcontext ctx;
} dr_CUDA_CONDITIONAL_NODE_PARAMS;
typedef struct {
	unsigned int type; /* CUgraphNodeType */
	int reserved0[3];
	union {
		long long reserved1[29];
		dr_CUDA_CONDITIONAL_NODE_PARAMS conditional;
	} params;
	long long reserved2;
} dr_CUgraphNodeParams;
typedef struct CUgraphEdgeData_st dr_CUgraphEdgeData; /* only ever NULL here */

#define DR_CUDA_SUCCESS 0u
#define DR_CUDA_ERROR_OUT_OF_MEMORY 2u
#define DR_CUDA_ERROR_NO_DEVICE 100u
#define DR_CUDA_ERROR_UNSUPPORTED_PTX_VERSION 222u
#define DR_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT 16u
#define DR_CU_DEVICE_ATTRIBUTE_COMPUTE_MODE 20u
#define DR_CU_COMPUTEMODE_DEFAULT 0
#define DR_CU_COMPUTEMODE_PROHIBITED 2
#define DR_CU_COMPUTEMODE_EXCLUSIVE_PROCESS 3
#define DR_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75u
#define DR_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76u
#define DR_CU_STREAM_NON_BLOCKING 1u
#define DR_CU_MEMHOSTALLOC_PORTABLE 1u
#define DR_CU_STREAM_CAPTURE_MODE_THREAD_LOCAL 1u
#define DR_CU_STREAM_CAPTURE_STATUS_NONE 0u
#define DR_CU_GRAPH_NODE_TYPE_CONDITIONAL 13u
#define DR_CU_GRAPH_COND_TYPE_IF 0u

typedef dr_CUresult (*dr_pfn_cuInit)(unsigned int Flags);
typedef dr_CUresult (*dr_pfn_cuDriverGetVersion)(int *driverVersion);
typedef dr_CUresult (*dr_pfn_cuDeviceGetCount)(int *count);
typedef dr_CUresult (*dr_pfn_cuDeviceGet)(dr_CUdevice *device, int ordinal);
typedef dr_CUresult (*dr_pfn_cuDeviceGetName)(char *name, int len, dr_CUdevice dev);
typedef dr_CUresult (*dr_pfn_cuDeviceGetAttribute)(int *pi, dr_CUdevice_attribute attrib, dr_CUdevice dev);
typedef dr_CUresult (*dr_pfn_cuDeviceTotalMem_v2)(size_t *bytes, dr_CUdevice dev);
typedef dr_CUresult (*dr_pfn_cuDevicePrimaryCtxRetain)(dr_CUcontext *pctx, dr_CUdevice dev);
typedef dr_CUresult (*dr_pfn_cuDevicePrimaryCtxRelease_v2)(dr_CUdevice dev);
typedef dr_CUresult (*dr_pfn_cuCtxSetCurrent)(dr_CUcontext ctx);
typedef dr_CUresult (*dr_pfn_cuMemGetInfo_v2)(size_t *free, size_t *total);
typedef dr_CUresult (*dr_pfn_cuMemAlloc_v2)(dr_CUdeviceptr *dptr, size_t bytesize);
typedef dr_CUresult (*dr_pfn_cuMemFree_v2)(dr_CUdeviceptr dptr);
typedef dr_CUresult (*dr_pfn_cuMemHostAlloc)(void **pp, size_t bytesize, unsigned int Flags);
typedef dr_CUresult (*dr_pfn_cuMemFreeHost)(void *p);
typedef dr_CUresult (*dr_pfn_cuMemcpyHtoDAsync_v2)(dr_CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, dr_CUstream hStream);
typedef dr_CUresult (*dr_pfn_cuMemcpyDtoHAsync_v2)(void *dstHost, dr_CUdeviceptr srcDevice, size_t ByteCount, dr_CUstream hStream);
typedef dr_CUresult (*dr_pfn_cuMemcpyDtoDAsync_v2)(dr_CUdeviceptr dstDevice, dr_CUdeviceptr srcDevice, size_t ByteCount, dr_CUstream hStream);
typedef dr_CUresult (*dr_pfn_cuMemsetD32Async)(dr_CUdeviceptr dstDevice, unsigned int ui, size_t N, dr_CUstream hStream);
typedef dr_CUresult (*dr_pfn_cuStreamCreate)(dr_CUstream *phStream, unsigned int Flags);
typedef dr_CUresult (*dr_pfn_cuStreamDestroy_v2)(dr_CUstream hStream);
typedef dr_CUresult (*dr_pfn_cuStreamSynchronize)(dr_CUstream hStream);
typedef dr_CUresult (*dr_pfn_cuModuleLoadData)(dr_CUmodule *module, const void *image);
typedef dr_CUresult (*dr_pfn_cuModuleUnload)(dr_CUmodule hmod);
typedef dr_CUresult (*dr_pfn_cuModuleGetFunction)(dr_CUfunction *hfunc, dr_CUmodule hmod, const char *name);
typedef dr_CUresult (*dr_pfn_cuLaunchKernel)(dr_CUfunction f,
	unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
	unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
	unsigned int sharedMemBytes, dr_CUstream hStream, void **kernelParams, void **extra);
typedef dr_CUresult (*dr_pfn_cuStreamBeginCapture_v2)(dr_CUstream hStream, dr_CUstreamCaptureMode mode);
typedef dr_CUresult (*dr_pfn_cuStreamEndCapture)(dr_CUstream hStream, dr_CUgraph *phGraph);
typedef dr_CUresult (*dr_pfn_cuStreamIsCapturing)(dr_CUstream hStream, dr_CUstreamCaptureStatus *captureStatus);
typedef dr_CUresult (*dr_pfn_cuGraphInstantiateWithFlags)(dr_CUgraphExec *phGraphExec, dr_CUgraph hGraph, unsigned long long flags);
typedef dr_CUresult (*dr_pfn_cuGraphLaunch)(dr_CUgraphExec hGraphExec, dr_CUstream hStream);
typedef dr_CUresult (*dr_pfn_cuGraphExecDestroy)(dr_CUgraphExec hGraphExec);
typedef dr_CUresult (*dr_pfn_cuGraphDestroy)(dr_CUgraph hGraph);
typedef dr_CUresult (*dr_pfn_cuGraphCreate)(dr_CUgraph *phGraph, unsigned int flags);
typedef dr_CUresult (*dr_pfn_cuGraphGetNodes)(dr_CUgraph hGraph, dr_CUgraphNode *nodes, size_t *numNodes);
typedef dr_CUresult (*dr_pfn_cuGraphAddChildGraphNode)(dr_CUgraphNode *phGraphNode, dr_CUgraph hGraph, const dr_CUgraphNode *dependencies, size_t numDependencies, dr_CUgraph childGraph);
typedef dr_CUresult (*dr_pfn_cuGraphConditionalHandleCreate)(dr_CUgraphConditionalHandle *pHandle_out, dr_CUgraph hGraph, dr_CUcontext ctx, unsigned int defaultLaunchValue, unsigned int flags);
typedef dr_CUresult (*dr_pfn_cuGraphAddNode_v2)(dr_CUgraphNode *phGraphNode, dr_CUgraph hGraph, const dr_CUgraphNode *dependencies, const dr_CUgraphEdgeData *dependencyData, size_t numDependencies, dr_CUgraphNodeParams *nodeParams);
typedef dr_CUresult (*dr_pfn_cuGetErrorString)(dr_CUresult error, const char **pStr);
typedef dr_CUresult (*dr_pfn_cuGetErrorName)(dr_CUresult error, const char **pStr);

typedef struct {
	dr_pfn_cuInit cuInit;
	dr_pfn_cuDriverGetVersion cuDriverGetVersion;
	dr_pfn_cuDeviceGetCount cuDeviceGetCount;
	dr_pfn_cuDeviceGet cuDeviceGet;
	dr_pfn_cuDeviceGetName cuDeviceGetName;
	dr_pfn_cuDeviceGetAttribute cuDeviceGetAttribute;
	dr_pfn_cuDeviceTotalMem_v2 cuDeviceTotalMem_v2;
	dr_pfn_cuDevicePrimaryCtxRetain cuDevicePrimaryCtxRetain;
	dr_pfn_cuDevicePrimaryCtxRelease_v2 cuDevicePrimaryCtxRelease_v2;
	dr_pfn_cuCtxSetCurrent cuCtxSetCurrent;
	dr_pfn_cuMemGetInfo_v2 cuMemGetInfo_v2;
	dr_pfn_cuMemAlloc_v2 cuMemAlloc_v2;
	dr_pfn_cuMemFree_v2 cuMemFree_v2;
	dr_pfn_cuMemHostAlloc cuMemHostAlloc;
	dr_pfn_cuMemFreeHost cuMemFreeHost;
	dr_pfn_cuMemcpyHtoDAsync_v2 cuMemcpyHtoDAsync_v2;
	dr_pfn_cuMemcpyDtoHAsync_v2 cuMemcpyDtoHAsync_v2;
	dr_pfn_cuMemcpyDtoDAsync_v2 cuMemcpyDtoDAsync_v2;
	dr_pfn_cuMemsetD32Async cuMemsetD32Async;
	dr_pfn_cuStreamCreate cuStreamCreate;
	dr_pfn_cuStreamDestroy_v2 cuStreamDestroy_v2;
	dr_pfn_cuStreamSynchronize cuStreamSynchronize;
	dr_pfn_cuModuleLoadData cuModuleLoadData;
	dr_pfn_cuModuleUnload cuModuleUnload;
	dr_pfn_cuModuleGetFunction cuModuleGetFunction;
	dr_pfn_cuLaunchKernel cuLaunchKernel;
	dr_pfn_cuGetErrorString cuGetErrorString;
	dr_pfn_cuGetErrorName cuGetErrorName;
	/* CUDA graphs (stream capture); loaded separately: NULL when the driver
	 * lacks them, and then graph mode is unavailable (gpu/graph.go). */
	dr_pfn_cuStreamBeginCapture_v2 cuStreamBeginCapture_v2;
	dr_pfn_cuStreamEndCapture cuStreamEndCapture;
	dr_pfn_cuStreamIsCapturing cuStreamIsCapturing;
	dr_pfn_cuGraphInstantiateWithFlags cuGraphInstantiateWithFlags;
	dr_pfn_cuGraphLaunch cuGraphLaunch;
	dr_pfn_cuGraphExecDestroy cuGraphExecDestroy;
	dr_pfn_cuGraphDestroy cuGraphDestroy;
	/* Graphs built by hand with conditional nodes (stochastic depth in a
	 * captured step); loaded separately, NULL on a driver before 12.3. */
	dr_pfn_cuGraphCreate cuGraphCreate;
	dr_pfn_cuGraphGetNodes cuGraphGetNodes;
	dr_pfn_cuGraphAddChildGraphNode cuGraphAddChildGraphNode;
	dr_pfn_cuGraphConditionalHandleCreate cuGraphConditionalHandleCreate;
	dr_pfn_cuGraphAddNode_v2 cuGraphAddNode_v2;
} dr_cuda_api;

/* ---- cuBLAS v2 (cublas_api.h / cublas_v2.h) ---- */
typedef unsigned int dr_cublasStatus;        /* cublasStatus_t */
typedef unsigned int dr_cublasOperation;     /* cublasOperation_t */
typedef unsigned int dr_cublasMath;          /* cublasMath_t */
typedef unsigned int dr_libraryPropertyType; /* libraryPropertyType (library_types.h) */
typedef unsigned int dr_cudaDataType;        /* cudaDataType (library_types.h) */
typedef unsigned int dr_cublasComputeType;   /* cublasComputeType_t */
typedef int dr_cublasGemmAlgo;               /* cublasGemmAlgo_t: has -1, so int */
typedef struct cublasContext *dr_cublasHandle;

#define DR_CUBLAS_STATUS_SUCCESS 0u
#define DR_CUBLAS_OP_N 0u
#define DR_CUBLAS_OP_T 1u
#define DR_CUBLAS_DEFAULT_MATH 0u
#define DR_CUBLAS_PEDANTIC_MATH 2u
#define DR_CUBLAS_TF32_TENSOR_OP_MATH 3u
#define DR_CUDA_R_32F 0u
#define DR_CUDA_R_16F 2u
#define DR_CUDA_R_16BF 14u
#define DR_CUBLAS_COMPUTE_32F 68u
#define DR_CUBLAS_GEMM_DEFAULT (-1)
#define DR_MAJOR_VERSION 0u
#define DR_MINOR_VERSION 1u
#define DR_PATCH_LEVEL 2u

typedef dr_cublasStatus (*dr_pfn_cublasCreate_v2)(dr_cublasHandle *handle);
typedef dr_cublasStatus (*dr_pfn_cublasDestroy_v2)(dr_cublasHandle handle);
typedef dr_cublasStatus (*dr_pfn_cublasSetStream_v2)(dr_cublasHandle handle, dr_CUstream streamId);
typedef dr_cublasStatus (*dr_pfn_cublasSetMathMode)(dr_cublasHandle handle, dr_cublasMath mode);
typedef dr_cublasStatus (*dr_pfn_cublasSetWorkspace_v2)(dr_cublasHandle handle, void *workspace, size_t workspaceSizeInBytes);
typedef dr_cublasStatus (*dr_pfn_cublasGetProperty)(dr_libraryPropertyType type, int *value);
typedef const char *(*dr_pfn_cublasGetStatusString)(dr_cublasStatus status);
typedef dr_cublasStatus (*dr_pfn_cublasSgemm_v2)(dr_cublasHandle handle,
	dr_cublasOperation transa, dr_cublasOperation transb, int m, int n, int k,
	const float *alpha, const float *A, int lda, const float *B, int ldb,
	const float *beta, float *C, int ldc);
/* C = alpha·op(A)·op(B) + beta·C with each matrix's own type; alpha and beta
 * point to the scale type's values (float for CUBLAS_COMPUTE_32F). */
typedef dr_cublasStatus (*dr_pfn_cublasGemmEx)(dr_cublasHandle handle,
	dr_cublasOperation transa, dr_cublasOperation transb, int m, int n, int k,
	const void *alpha, const void *A, dr_cudaDataType Atype, int lda,
	const void *B, dr_cudaDataType Btype, int ldb, const void *beta,
	void *C, dr_cudaDataType Ctype, int ldc, dr_cublasComputeType computeType, dr_cublasGemmAlgo algo);

typedef struct {
	dr_pfn_cublasCreate_v2 cublasCreate_v2;
	dr_pfn_cublasDestroy_v2 cublasDestroy_v2;
	dr_pfn_cublasSetStream_v2 cublasSetStream_v2;
	dr_pfn_cublasSetMathMode cublasSetMathMode;
	dr_pfn_cublasSetWorkspace_v2 cublasSetWorkspace_v2;
	dr_pfn_cublasGetProperty cublasGetProperty;
	dr_pfn_cublasGetStatusString cublasGetStatusString;
	dr_pfn_cublasSgemm_v2 cublasSgemm_v2;
	dr_pfn_cublasGemmEx cublasGemmEx;
} dr_cublas_api;

/* ---- NVRTC (nvrtc.h) ---- */
typedef unsigned int dr_nvrtcResult;         /* nvrtcResult */
typedef struct _nvrtcProgram *dr_nvrtcProgram;

#define DR_NVRTC_SUCCESS 0u

typedef const char *(*dr_pfn_nvrtcGetErrorString)(dr_nvrtcResult result);
typedef dr_nvrtcResult (*dr_pfn_nvrtcVersion)(int *major, int *minor);
typedef dr_nvrtcResult (*dr_pfn_nvrtcCreateProgram)(dr_nvrtcProgram *prog, const char *src,
	const char *name, int numHeaders, const char *const *headers, const char *const *includeNames);
typedef dr_nvrtcResult (*dr_pfn_nvrtcDestroyProgram)(dr_nvrtcProgram *prog);
typedef dr_nvrtcResult (*dr_pfn_nvrtcCompileProgram)(dr_nvrtcProgram prog, int numOptions, const char *const *options);
typedef dr_nvrtcResult (*dr_pfn_nvrtcGetProgramLogSize)(dr_nvrtcProgram prog, size_t *logSizeRet);
typedef dr_nvrtcResult (*dr_pfn_nvrtcGetProgramLog)(dr_nvrtcProgram prog, char *log);
typedef dr_nvrtcResult (*dr_pfn_nvrtcGetCUBINSize)(dr_nvrtcProgram prog, size_t *cubinSizeRet);
typedef dr_nvrtcResult (*dr_pfn_nvrtcGetCUBIN)(dr_nvrtcProgram prog, char *cubin);
typedef dr_nvrtcResult (*dr_pfn_nvrtcGetPTXSize)(dr_nvrtcProgram prog, size_t *ptxSizeRet);
typedef dr_nvrtcResult (*dr_pfn_nvrtcGetPTX)(dr_nvrtcProgram prog, char *ptx);
typedef dr_nvrtcResult (*dr_pfn_nvrtcGetNumSupportedArchs)(int *numArchs);
typedef dr_nvrtcResult (*dr_pfn_nvrtcGetSupportedArchs)(int *supportedArchs);

typedef struct {
	dr_pfn_nvrtcGetErrorString nvrtcGetErrorString;
	dr_pfn_nvrtcVersion nvrtcVersion;
	dr_pfn_nvrtcCreateProgram nvrtcCreateProgram;
	dr_pfn_nvrtcDestroyProgram nvrtcDestroyProgram;
	dr_pfn_nvrtcCompileProgram nvrtcCompileProgram;
	dr_pfn_nvrtcGetProgramLogSize nvrtcGetProgramLogSize;
	dr_pfn_nvrtcGetProgramLog nvrtcGetProgramLog;
	dr_pfn_nvrtcGetCUBINSize nvrtcGetCUBINSize;
	dr_pfn_nvrtcGetCUBIN nvrtcGetCUBIN;
	dr_pfn_nvrtcGetPTXSize nvrtcGetPTXSize;
	dr_pfn_nvrtcGetPTX nvrtcGetPTX;
	dr_pfn_nvrtcGetNumSupportedArchs nvrtcGetNumSupportedArchs;
	dr_pfn_nvrtcGetSupportedArchs nvrtcGetSupportedArchs;
} dr_nvrtc_api;

/* The tables, defined in shim.c and filled by driver.go. */
extern dr_cuda_api dr_cu;
extern dr_cublas_api dr_cublas;
extern dr_nvrtc_api dr_nvrtc;

#endif
