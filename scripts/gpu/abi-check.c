/*
 * abi-check.c: compiles deepres's own prototypes (gpu/cuda_shim.h,
 * cudnn/cudnn_shim.h) together with NVIDIA's real headers and fails to
 * compile if any function-pointer type, enum value or struct layout differs.
 * Run on NVIDIA's wheels by scripts/nvidia/abi-check.sh STACKDIR (in CI, on
 * the CUDA 12 and 13 stacks of scripts/nvidia/fetch.sh), which also checks
 * that every dr_pfn_ typedef and DR_ constant of the shims has a line here.
 *
 * The pattern, one line per declaration:
 *   SAME_FN(f)            our dr_pfn_f is the type of NVIDIA's &f
 *   SAME_FN_WITH(f, ...)  f takes one of our structs: see below
 *   SAME_VALUE(DR_X, X)   our constant equals NVIDIA's
 *   SAME_TYPE(ours, real) and SAME_FIELD(ours, real, field) for types
 * __builtin_types_compatible_p ignores top-level qualifiers of parameters
 * (as C does for function types) and treats an enum as its compatible
 * integer type, which is why our enums are declared unsigned int.
 */
#include <stddef.h>
#include <cuda.h>
#include <cublas_v2.h>
#include <nvrtc.h>
#include <cudnn.h>

#include "cuda_shim.h"
#include "cudnn_shim.h"

#define SAME_FN(real) \
	_Static_assert(__builtin_types_compatible_p(dr_pfn_##real, __typeof__(&real)), \
		"prototype of " #real " differs from NVIDIA's header")
#define SAME_TYPE(ours, real) \
	_Static_assert(__builtin_types_compatible_p(ours, real), #ours " is not " #real)
#define SAME_VALUE(ours, real) _Static_assert((ours) == (real), #ours " != " #real)
#define SAME_FIELD(ours, real, f) \
	_Static_assert(offsetof(ours, f) == offsetof(real, f) && sizeof(((ours *)0)->f) == sizeof(((real *)0)->f), \
		#ours "." #f " is not laid out as in " #real)

/*
 * A function taking a pointer to one of our own structs cannot have NVIDIA's
 * type (C compares structs by tag). Its parameters are written once here, as
 * a macro of the struct type: with our struct they must be our typedef, with
 * NVIDIA's struct NVIDIA's prototype, so every other parameter is compared
 * exactly; the two structs are then compared field by field (offset and size
 * of each, and the whole size) with SAME_FIELD.
 */
#define SAME_FN_WITH(real, ret, params, ours, theirs) \
	_Static_assert(__builtin_types_compatible_p(dr_pfn_##real, ret (*) params(ours)), \
		"prototype of " #real " differs from its parameter list in abi-check.c"); \
	_Static_assert(__builtin_types_compatible_p(__typeof__(&real), ret (*) params(theirs)), \
		"NVIDIA's prototype of " #real " differs from its parameter list in abi-check.c"); \
	_Static_assert(sizeof(ours) == sizeof(theirs), #ours " size differs from " #theirs)

/* ---- CUDA driver ---- */
SAME_TYPE(dr_CUresult, CUresult);
SAME_TYPE(dr_CUdevice, CUdevice);
SAME_TYPE(dr_CUdeviceptr, CUdeviceptr);
SAME_TYPE(dr_CUdevice_attribute, CUdevice_attribute);
SAME_TYPE(dr_CUcontext, CUcontext);
SAME_TYPE(dr_CUstream, CUstream);
SAME_TYPE(dr_CUmodule, CUmodule);
SAME_TYPE(dr_CUfunction, CUfunction);
SAME_TYPE(dr_CUgraph, CUgraph);
SAME_TYPE(dr_CUgraphExec, CUgraphExec);
SAME_VALUE(DR_CU_STREAM_CAPTURE_MODE_THREAD_LOCAL, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
SAME_VALUE(DR_CU_STREAM_CAPTURE_STATUS_NONE, CU_STREAM_CAPTURE_STATUS_NONE);
SAME_FN(cuStreamBeginCapture_v2);
SAME_FN(cuStreamEndCapture);
SAME_FN(cuStreamIsCapturing);
SAME_FN(cuGraphInstantiateWithFlags);
SAME_FN(cuGraphLaunch);
SAME_FN(cuGraphExecDestroy);
SAME_FN(cuGraphDestroy);
SAME_TYPE(dr_CUgraphNode, CUgraphNode);
SAME_TYPE(dr_CUgraphConditionalHandle, CUgraphConditionalHandle);
SAME_TYPE(dr_CUgraphEdgeData, CUgraphEdgeData);
SAME_FN(cuGraphCreate);
SAME_FN(cuGraphGetNodes);
SAME_FN(cuGraphAddChildGraphNode);
SAME_FN(cuGraphConditionalHandleCreate);
#define ADD_NODE_PARAMS(S) \
	(CUgraphNode *, CUgraph, const CUgraphNode *, const CUgraphEdgeData *, size_t, S *)
SAME_FN_WITH(cuGraphAddNode_v2, CUresult, ADD_NODE_PARAMS, dr_CUgraphNodeParams, CUgraphNodeParams);
SAME_VALUE(DR_CU_GRAPH_NODE_TYPE_CONDITIONAL, CU_GRAPH_NODE_TYPE_CONDITIONAL);
SAME_VALUE(DR_CU_GRAPH_COND_TYPE_IF, CU_GRAPH_COND_TYPE_IF);
SAME_FIELD(dr_CUgraphNodeParams, CUgraphNodeParams, type);
SAME_FIELD(dr_CUgraphNodeParams, CUgraphNodeParams, reserved2);
_Static_assert(offsetof(dr_CUgraphNodeParams, params.conditional) == offsetof(CUgraphNodeParams, conditional) &&
	sizeof(((dr_CUgraphNodeParams *)0)->params.conditional) == sizeof(((CUgraphNodeParams *)0)->conditional),
	"CUgraphNodeParams.conditional is not where deepres puts it");
_Static_assert(sizeof(dr_CUDA_CONDITIONAL_NODE_PARAMS) == sizeof(CUDA_CONDITIONAL_NODE_PARAMS),
	"dr_CUDA_CONDITIONAL_NODE_PARAMS size differs");
SAME_FIELD(dr_CUDA_CONDITIONAL_NODE_PARAMS, CUDA_CONDITIONAL_NODE_PARAMS, handle);
SAME_FIELD(dr_CUDA_CONDITIONAL_NODE_PARAMS, CUDA_CONDITIONAL_NODE_PARAMS, type);
SAME_FIELD(dr_CUDA_CONDITIONAL_NODE_PARAMS, CUDA_CONDITIONAL_NODE_PARAMS, size);
SAME_FIELD(dr_CUDA_CONDITIONAL_NODE_PARAMS, CUDA_CONDITIONAL_NODE_PARAMS, phGraph_out);
SAME_FIELD(dr_CUDA_CONDITIONAL_NODE_PARAMS, CUDA_CONDITIONAL_NODE_PARAMS, ctx);
SAME_FN(cuInit);
SAME_FN(cuDriverGetVersion);
SAME_FN(cuDeviceGetCount);
SAME_FN(cuDeviceGet);
SAME_FN(cuDeviceGetName);
SAME_FN(cuDeviceGetAttribute);
SAME_FN(cuDeviceTotalMem_v2);
SAME_FN(cuDevicePrimaryCtxRetain);
SAME_FN(cuDevicePrimaryCtxRelease_v2);
SAME_FN(cuCtxSetCurrent);
SAME_FN(cuMemGetInfo_v2);
SAME_FN(cuMemAlloc_v2);
SAME_FN(cuMemFree_v2);
SAME_FN(cuMemHostAlloc);
SAME_FN(cuMemFreeHost);
SAME_FN(cuMemcpyHtoDAsync_v2);
SAME_FN(cuMemcpyDtoHAsync_v2);
SAME_FN(cuMemcpyDtoDAsync_v2);
SAME_FN(cuMemsetD32Async);
SAME_FN(cuStreamCreate);
SAME_FN(cuStreamDestroy_v2);
SAME_FN(cuStreamSynchronize);
SAME_FN(cuModuleLoadData);
SAME_FN(cuModuleUnload);
SAME_FN(cuModuleGetFunction);
SAME_FN(cuLaunchKernel);
SAME_FN(cuGetErrorString);
SAME_FN(cuGetErrorName);
SAME_VALUE(DR_CUDA_SUCCESS, CUDA_SUCCESS);
SAME_VALUE(DR_CUDA_ERROR_OUT_OF_MEMORY, CUDA_ERROR_OUT_OF_MEMORY);
SAME_VALUE(DR_CUDA_ERROR_NO_DEVICE, CUDA_ERROR_NO_DEVICE);
SAME_VALUE(DR_CUDA_ERROR_UNSUPPORTED_PTX_VERSION, CUDA_ERROR_UNSUPPORTED_PTX_VERSION);
SAME_VALUE(DR_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
SAME_VALUE(DR_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
SAME_VALUE(DR_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
SAME_VALUE(DR_CU_DEVICE_ATTRIBUTE_COMPUTE_MODE, CU_DEVICE_ATTRIBUTE_COMPUTE_MODE);
SAME_VALUE(DR_CU_COMPUTEMODE_DEFAULT, CU_COMPUTEMODE_DEFAULT);
SAME_VALUE(DR_CU_COMPUTEMODE_PROHIBITED, CU_COMPUTEMODE_PROHIBITED);
SAME_VALUE(DR_CU_COMPUTEMODE_EXCLUSIVE_PROCESS, CU_COMPUTEMODE_EXCLUSIVE_PROCESS);
SAME_VALUE(DR_CU_STREAM_NON_BLOCKING, CU_STREAM_NON_BLOCKING);
SAME_VALUE(DR_CU_MEMHOSTALLOC_PORTABLE, CU_MEMHOSTALLOC_PORTABLE);

/* ---- cuBLAS ---- */
SAME_TYPE(dr_cublasStatus, cublasStatus_t);
SAME_TYPE(dr_cublasOperation, cublasOperation_t);
SAME_TYPE(dr_cublasMath, cublasMath_t);
SAME_TYPE(dr_libraryPropertyType, libraryPropertyType);
SAME_TYPE(dr_cublasHandle, cublasHandle_t);
SAME_TYPE(dr_CUstream, cudaStream_t);
SAME_FN(cublasCreate_v2);
SAME_FN(cublasDestroy_v2);
SAME_FN(cublasSetStream_v2);
SAME_FN(cublasSetMathMode);
SAME_FN(cublasSetWorkspace_v2);
SAME_FN(cublasGetProperty);
SAME_FN(cublasGetStatusString);
SAME_FN(cublasSgemm_v2);
SAME_TYPE(dr_cudaDataType, cudaDataType);
SAME_TYPE(dr_cublasComputeType, cublasComputeType_t);
SAME_TYPE(dr_cublasGemmAlgo, cublasGemmAlgo_t);
SAME_FN(cublasGemmEx);
SAME_VALUE(DR_CUDA_R_32F, CUDA_R_32F);
SAME_VALUE(DR_CUDA_R_16F, CUDA_R_16F);
SAME_VALUE(DR_CUDA_R_16BF, CUDA_R_16BF);
SAME_VALUE(DR_CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F);
SAME_VALUE(DR_CUBLAS_GEMM_DEFAULT, CUBLAS_GEMM_DEFAULT);
SAME_VALUE(DR_CUBLAS_STATUS_SUCCESS, CUBLAS_STATUS_SUCCESS);
SAME_VALUE(DR_CUBLAS_OP_N, CUBLAS_OP_N);
SAME_VALUE(DR_CUBLAS_OP_T, CUBLAS_OP_T);
SAME_VALUE(DR_CUBLAS_DEFAULT_MATH, CUBLAS_DEFAULT_MATH);
SAME_VALUE(DR_CUBLAS_PEDANTIC_MATH, CUBLAS_PEDANTIC_MATH);
SAME_VALUE(DR_CUBLAS_TF32_TENSOR_OP_MATH, CUBLAS_TF32_TENSOR_OP_MATH);
SAME_VALUE(DR_MAJOR_VERSION, MAJOR_VERSION);
SAME_VALUE(DR_MINOR_VERSION, MINOR_VERSION);
SAME_VALUE(DR_PATCH_LEVEL, PATCH_LEVEL);

/* ---- NVRTC ---- */
SAME_TYPE(dr_nvrtcResult, nvrtcResult);
SAME_TYPE(dr_nvrtcProgram, nvrtcProgram);
SAME_FN(nvrtcGetErrorString);
SAME_FN(nvrtcVersion);
SAME_FN(nvrtcCreateProgram);
SAME_FN(nvrtcDestroyProgram);
SAME_FN(nvrtcCompileProgram);
SAME_FN(nvrtcGetProgramLogSize);
SAME_FN(nvrtcGetProgramLog);
SAME_FN(nvrtcGetCUBINSize);
SAME_FN(nvrtcGetCUBIN);
SAME_FN(nvrtcGetPTXSize);
SAME_FN(nvrtcGetPTX);
SAME_FN(nvrtcGetNumSupportedArchs);
SAME_FN(nvrtcGetSupportedArchs);
SAME_VALUE(DR_NVRTC_SUCCESS, NVRTC_SUCCESS);

/* ---- cuDNN 9 ---- */
_Static_assert(CUDNN_MAJOR == 9, "deepres's cuDNN prototypes are cuDNN 9's");
SAME_TYPE(dr_cudnnStatus, cudnnStatus_t);
SAME_TYPE(dr_cudnnDataType, cudnnDataType_t);
SAME_TYPE(dr_cudnnTensorFormat, cudnnTensorFormat_t);
SAME_TYPE(dr_cudnnConvolutionMode, cudnnConvolutionMode_t);
SAME_TYPE(dr_cudnnMathType, cudnnMathType_t);
SAME_TYPE(dr_cudnnConvFwdAlgo, cudnnConvolutionFwdAlgo_t);
SAME_TYPE(dr_cudnnConvBwdDataAlgo, cudnnConvolutionBwdDataAlgo_t);
SAME_TYPE(dr_cudnnConvBwdFilterAlgo, cudnnConvolutionBwdFilterAlgo_t);
SAME_TYPE(dr_cudnnBatchNormMode, cudnnBatchNormMode_t);
SAME_TYPE(dr_cudnnBatchNormOps, cudnnBatchNormOps_t);
SAME_TYPE(dr_cudnnActivationMode, cudnnActivationMode_t);
SAME_TYPE(dr_cudnnNanPropagation, cudnnNanPropagation_t);
SAME_TYPE(dr_cudnnDeterminism, cudnnDeterminism_t);
SAME_TYPE(dr_cudnnHandle, cudnnHandle_t);
SAME_TYPE(dr_cudnnTensorDesc, cudnnTensorDescriptor_t);
SAME_TYPE(dr_cudnnFilterDesc, cudnnFilterDescriptor_t);
SAME_TYPE(dr_cudnnConvDesc, cudnnConvolutionDescriptor_t);
SAME_TYPE(dr_cudnnActivationDesc, cudnnActivationDescriptor_t);
SAME_TYPE(dr_cudaStream, cudaStream_t);
SAME_FN(cudnnGetVersion);
SAME_FN(cudnnGetCudartVersion);
SAME_FN(cudnnGetErrorString);
SAME_FN(cudnnCreate);
SAME_FN(cudnnDestroy);
SAME_FN(cudnnSetStream);
SAME_FN(cudnnCreateTensorDescriptor);
SAME_FN(cudnnSetTensor4dDescriptor);
SAME_FN(cudnnDestroyTensorDescriptor);
SAME_FN(cudnnCreateFilterDescriptor);
SAME_FN(cudnnSetFilter4dDescriptor);
SAME_FN(cudnnDestroyFilterDescriptor);
SAME_FN(cudnnCreateConvolutionDescriptor);
SAME_FN(cudnnSetConvolution2dDescriptor);
SAME_FN(cudnnSetConvolutionMathType);
SAME_FN(cudnnDestroyConvolutionDescriptor);
SAME_FN(cudnnCreateActivationDescriptor);
SAME_FN(cudnnSetActivationDescriptor);
SAME_FN(cudnnDestroyActivationDescriptor);
#define FIND_FWD_PARAMS(S) \
	(cudnnHandle_t, cudnnTensorDescriptor_t, const void *, cudnnFilterDescriptor_t, const void *, \
	cudnnConvolutionDescriptor_t, cudnnTensorDescriptor_t, void *, int, int *, S *, void *, size_t)
SAME_FN_WITH(cudnnFindConvolutionForwardAlgorithmEx, cudnnStatus_t, FIND_FWD_PARAMS, dr_cudnnConvFwdPerf, cudnnConvolutionFwdAlgoPerf_t);
SAME_FN(cudnnConvolutionForward);
#define FIND_BWD_DATA_PARAMS(S) \
	(cudnnHandle_t, cudnnFilterDescriptor_t, const void *, cudnnTensorDescriptor_t, const void *, \
	cudnnConvolutionDescriptor_t, cudnnTensorDescriptor_t, void *, int, int *, S *, void *, size_t)
SAME_FN_WITH(cudnnFindConvolutionBackwardDataAlgorithmEx, cudnnStatus_t, FIND_BWD_DATA_PARAMS, dr_cudnnConvBwdDataPerf, cudnnConvolutionBwdDataAlgoPerf_t);
SAME_FN(cudnnConvolutionBackwardData);
#define FIND_BWD_FILTER_PARAMS(S) \
	(cudnnHandle_t, cudnnTensorDescriptor_t, const void *, cudnnTensorDescriptor_t, const void *, \
	cudnnConvolutionDescriptor_t, cudnnFilterDescriptor_t, void *, int, int *, S *, void *, size_t)
SAME_FN_WITH(cudnnFindConvolutionBackwardFilterAlgorithmEx, cudnnStatus_t, FIND_BWD_FILTER_PARAMS, dr_cudnnConvBwdFilterPerf, cudnnConvolutionBwdFilterAlgoPerf_t);
SAME_FN(cudnnConvolutionBackwardFilter);
SAME_FN(cudnnBatchNormalizationForwardTraining);
SAME_FN(cudnnBatchNormalizationForwardInference);
SAME_FN(cudnnBatchNormalizationBackward);
SAME_FN(cudnnDeriveBNTensorDescriptor);
SAME_FN(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize);
SAME_FN(cudnnGetBatchNormalizationBackwardExWorkspaceSize);
SAME_FN(cudnnGetBatchNormalizationTrainingExReserveSpaceSize);
SAME_FN(cudnnBatchNormalizationForwardTrainingEx);
SAME_FN(cudnnBatchNormalizationBackwardEx);
SAME_FN(cudnnActivationForward);
SAME_FN(cudnnActivationBackward);
SAME_VALUE(DR_CUDNN_STATUS_SUCCESS, CUDNN_STATUS_SUCCESS);
SAME_VALUE(DR_CUDNN_STATUS_NOT_SUPPORTED, CUDNN_STATUS_NOT_SUPPORTED);
SAME_VALUE(DR_CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT);
SAME_VALUE(DR_CUDNN_DATA_HALF, CUDNN_DATA_HALF);
SAME_VALUE(DR_CUDNN_DATA_BFLOAT16, CUDNN_DATA_BFLOAT16);
SAME_VALUE(DR_CUDNN_TENSOR_NCHW, CUDNN_TENSOR_NCHW);
SAME_VALUE(DR_CUDNN_TENSOR_NHWC, CUDNN_TENSOR_NHWC);
SAME_VALUE(DR_CUDNN_CROSS_CORRELATION, CUDNN_CROSS_CORRELATION);
SAME_VALUE(DR_CUDNN_DEFAULT_MATH, CUDNN_DEFAULT_MATH);
SAME_VALUE(DR_CUDNN_TENSOR_OP_MATH, CUDNN_TENSOR_OP_MATH);
SAME_VALUE(DR_CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
SAME_VALUE(DR_CUDNN_FMA_MATH, CUDNN_FMA_MATH);
SAME_VALUE(DR_CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_SPATIAL);
SAME_VALUE(DR_CUDNN_BATCHNORM_SPATIAL_PERSISTENT, CUDNN_BATCHNORM_SPATIAL_PERSISTENT);
SAME_VALUE(DR_CUDNN_BATCHNORM_OPS_BN, CUDNN_BATCHNORM_OPS_BN);
SAME_VALUE(DR_CUDNN_BATCHNORM_OPS_BN_ACTIVATION, CUDNN_BATCHNORM_OPS_BN_ACTIVATION);
SAME_VALUE(DR_CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION, CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION);
SAME_VALUE(DR_CUDNN_ACTIVATION_SIGMOID, CUDNN_ACTIVATION_SIGMOID);
SAME_VALUE(DR_CUDNN_ACTIVATION_RELU, CUDNN_ACTIVATION_RELU);
SAME_VALUE(DR_CUDNN_NOT_PROPAGATE_NAN, CUDNN_NOT_PROPAGATE_NAN);
SAME_VALUE(DR_CUDNN_PROPAGATE_NAN, CUDNN_PROPAGATE_NAN);

#define SAME_PERF(ours, real) \
	SAME_FIELD(ours, real, algo); \
	SAME_FIELD(ours, real, status); \
	SAME_FIELD(ours, real, time); \
	SAME_FIELD(ours, real, memory); \
	SAME_FIELD(ours, real, determinism); \
	SAME_FIELD(ours, real, mathType); \
	SAME_FIELD(ours, real, reserved)
SAME_PERF(dr_cudnnConvFwdPerf, cudnnConvolutionFwdAlgoPerf_t);
SAME_PERF(dr_cudnnConvBwdDataPerf, cudnnConvolutionBwdDataAlgoPerf_t);
SAME_PERF(dr_cudnnConvBwdFilterPerf, cudnnConvolutionBwdFilterAlgoPerf_t);

int main(void) { return 0; }
