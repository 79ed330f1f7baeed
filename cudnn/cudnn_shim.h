/*
 * cudnn_shim.h: our own declarations of the part of cuDNN 9's legacy API
 * (cudnn_graph.h, cudnn_ops.h, cudnn_cnn.h) that deepres calls, as
 * function-pointer typedefs filled by dlsym (see lib.go). Written from
 * NVIDIA's public documentation; scripts/gpu/abi-check.c compiles it with the
 * real cudnn.h and asserts that every typedef, enum value and struct layout
 * matches. Enums are unsigned int (GCC's compatible type for an enum without
 * negative values); handles use NVIDIA's own struct tags.
 */
#ifndef DEEPRES_CUDNN_SHIM_H
#define DEEPRES_CUDNN_SHIM_H

#include <stddef.h>

typedef unsigned int dr_cudnnStatus;          /* cudnnStatus_t */
typedef unsigned int dr_cudnnDataType;        /* cudnnDataType_t */
typedef unsigned int dr_cudnnTensorFormat;    /* cudnnTensorFormat_t */
typedef unsigned int dr_cudnnConvolutionMode; /* cudnnConvolutionMode_t */
typedef unsigned int dr_cudnnMathType;        /* cudnnMathType_t */
typedef unsigned int dr_cudnnConvFwdAlgo;     /* cudnnConvolutionFwdAlgo_t */
typedef unsigned int dr_cudnnConvBwdDataAlgo; /* cudnnConvolutionBwdDataAlgo_t */
typedef unsigned int dr_cudnnConvBwdFilterAlgo; /* cudnnConvolutionBwdFilterAlgo_t */
typedef unsigned int dr_cudnnBatchNormMode;   /* cudnnBatchNormMode_t */
typedef unsigned int dr_cudnnBatchNormOps;    /* cudnnBatchNormOps_t */
typedef unsigned int dr_cudnnActivationMode;  /* cudnnActivationMode_t */
typedef unsigned int dr_cudnnNanPropagation;  /* cudnnNanPropagation_t */
typedef unsigned int dr_cudnnDeterminism;     /* cudnnDeterminism_t */

typedef struct cudnnContext *dr_cudnnHandle;
typedef struct cudnnTensorStruct *dr_cudnnTensorDesc;
typedef struct cudnnFilterStruct *dr_cudnnFilterDesc;
typedef struct cudnnConvolutionStruct *dr_cudnnConvDesc;
typedef struct cudnnActivationStruct *dr_cudnnActivationDesc;
typedef struct CUstream_st *dr_cudaStream; /* cudaStream_t */

#define DR_CUDNN_STATUS_SUCCESS 0u
#define DR_CUDNN_STATUS_NOT_SUPPORTED 3000u
#define DR_CUDNN_DATA_FLOAT 0u
#define DR_CUDNN_DATA_HALF 2u
#define DR_CUDNN_DATA_BFLOAT16 9u
#define DR_CUDNN_TENSOR_NCHW 0u
#define DR_CUDNN_TENSOR_NHWC 1u
#define DR_CUDNN_CROSS_CORRELATION 1u
#define DR_CUDNN_DEFAULT_MATH 0u
#define DR_CUDNN_TENSOR_OP_MATH 1u
#define DR_CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION 2u
#define DR_CUDNN_FMA_MATH 3u
#define DR_CUDNN_BATCHNORM_SPATIAL 1u
#define DR_CUDNN_BATCHNORM_SPATIAL_PERSISTENT 2u
#define DR_CUDNN_BATCHNORM_OPS_BN 0u
#define DR_CUDNN_BATCHNORM_OPS_BN_ACTIVATION 1u
#define DR_CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION 2u
#define DR_CUDNN_ACTIVATION_SIGMOID 0u
#define DR_CUDNN_ACTIVATION_RELU 1u
#define DR_CUDNN_NOT_PROPAGATE_NAN 0u
#define DR_CUDNN_PROPAGATE_NAN 1u

/* The algorithm performance records of cudnn_cnn.h, field for field. */
typedef struct {
	dr_cudnnConvFwdAlgo algo;
	dr_cudnnStatus status;
	float time;
	size_t memory;
	dr_cudnnDeterminism determinism;
	dr_cudnnMathType mathType;
	int reserved[3];
} dr_cudnnConvFwdPerf;
typedef struct {
	dr_cudnnConvBwdDataAlgo algo;
	dr_cudnnStatus status;
	float time;
	size_t memory;
	dr_cudnnDeterminism determinism;
	dr_cudnnMathType mathType;
	int reserved[3];
} dr_cudnnConvBwdDataPerf;
typedef struct {
	dr_cudnnConvBwdFilterAlgo algo;
	dr_cudnnStatus status;
	float time;
	size_t memory;
	dr_cudnnDeterminism determinism;
	dr_cudnnMathType mathType;
	int reserved[3];
} dr_cudnnConvBwdFilterPerf;

typedef size_t (*dr_pfn_cudnnGetVersion)(void);
/* cudnn_graph.h: the version of the CUDA runtime cuDNN was built against,
 * e.g. 12080 for CUDA 12.8 or 13000 for 13.0 (major = v / 1000). */
typedef size_t (*dr_pfn_cudnnGetCudartVersion)(void);
typedef const char *(*dr_pfn_cudnnGetErrorString)(dr_cudnnStatus status);
typedef dr_cudnnStatus (*dr_pfn_cudnnCreate)(dr_cudnnHandle *handle);
typedef dr_cudnnStatus (*dr_pfn_cudnnDestroy)(dr_cudnnHandle handle);
typedef dr_cudnnStatus (*dr_pfn_cudnnSetStream)(dr_cudnnHandle handle, dr_cudaStream streamId);

typedef dr_cudnnStatus (*dr_pfn_cudnnCreateTensorDescriptor)(dr_cudnnTensorDesc *tensorDesc);
typedef dr_cudnnStatus (*dr_pfn_cudnnSetTensor4dDescriptor)(dr_cudnnTensorDesc tensorDesc,
	dr_cudnnTensorFormat format, dr_cudnnDataType dataType, int n, int c, int h, int w);
typedef dr_cudnnStatus (*dr_pfn_cudnnDestroyTensorDescriptor)(dr_cudnnTensorDesc tensorDesc);
typedef dr_cudnnStatus (*dr_pfn_cudnnCreateFilterDescriptor)(dr_cudnnFilterDesc *filterDesc);
/* Note the order: data type before format, unlike the tensor setter. */
typedef dr_cudnnStatus (*dr_pfn_cudnnSetFilter4dDescriptor)(dr_cudnnFilterDesc filterDesc,
	dr_cudnnDataType dataType, dr_cudnnTensorFormat format, int k, int c, int h, int w);
typedef dr_cudnnStatus (*dr_pfn_cudnnDestroyFilterDescriptor)(dr_cudnnFilterDesc filterDesc);
typedef dr_cudnnStatus (*dr_pfn_cudnnCreateConvolutionDescriptor)(dr_cudnnConvDesc *convDesc);
typedef dr_cudnnStatus (*dr_pfn_cudnnSetConvolution2dDescriptor)(dr_cudnnConvDesc convDesc,
	int pad_h, int pad_w, int u, int v, int dilation_h, int dilation_w,
	dr_cudnnConvolutionMode mode, dr_cudnnDataType computeType);
typedef dr_cudnnStatus (*dr_pfn_cudnnSetConvolutionMathType)(dr_cudnnConvDesc convDesc, dr_cudnnMathType mathType);
typedef dr_cudnnStatus (*dr_pfn_cudnnDestroyConvolutionDescriptor)(dr_cudnnConvDesc convDesc);
typedef dr_cudnnStatus (*dr_pfn_cudnnCreateActivationDescriptor)(dr_cudnnActivationDesc *activationDesc);
typedef dr_cudnnStatus (*dr_pfn_cudnnSetActivationDescriptor)(dr_cudnnActivationDesc activationDesc,
	dr_cudnnActivationMode mode, dr_cudnnNanPropagation reluNanOpt, double coef);
typedef dr_cudnnStatus (*dr_pfn_cudnnDestroyActivationDescriptor)(dr_cudnnActivationDesc activationDesc);

typedef dr_cudnnStatus (*dr_pfn_cudnnFindConvolutionForwardAlgorithmEx)(dr_cudnnHandle handle,
	const dr_cudnnTensorDesc xDesc, const void *x, const dr_cudnnFilterDesc wDesc, const void *w,
	const dr_cudnnConvDesc convDesc, const dr_cudnnTensorDesc yDesc, void *y,
	const int requestedAlgoCount, int *returnedAlgoCount, dr_cudnnConvFwdPerf *perfResults,
	void *workSpace, size_t workSpaceSizeInBytes);
typedef dr_cudnnStatus (*dr_pfn_cudnnConvolutionForward)(dr_cudnnHandle handle, const void *alpha,
	const dr_cudnnTensorDesc xDesc, const void *x, const dr_cudnnFilterDesc wDesc, const void *w,
	const dr_cudnnConvDesc convDesc, dr_cudnnConvFwdAlgo algo, void *workSpace, size_t workSpaceSizeInBytes,
	const void *beta, const dr_cudnnTensorDesc yDesc, void *y);
typedef dr_cudnnStatus (*dr_pfn_cudnnFindConvolutionBackwardDataAlgorithmEx)(dr_cudnnHandle handle,
	const dr_cudnnFilterDesc wDesc, const void *w, const dr_cudnnTensorDesc dyDesc, const void *dy,
	const dr_cudnnConvDesc convDesc, const dr_cudnnTensorDesc dxDesc, void *dx,
	const int requestedAlgoCount, int *returnedAlgoCount, dr_cudnnConvBwdDataPerf *perfResults,
	void *workSpace, size_t workSpaceSizeInBytes);
typedef dr_cudnnStatus (*dr_pfn_cudnnConvolutionBackwardData)(dr_cudnnHandle handle, const void *alpha,
	const dr_cudnnFilterDesc wDesc, const void *w, const dr_cudnnTensorDesc dyDesc, const void *dy,
	const dr_cudnnConvDesc convDesc, dr_cudnnConvBwdDataAlgo algo, void *workSpace, size_t workSpaceSizeInBytes,
	const void *beta, const dr_cudnnTensorDesc dxDesc, void *dx);
typedef dr_cudnnStatus (*dr_pfn_cudnnFindConvolutionBackwardFilterAlgorithmEx)(dr_cudnnHandle handle,
	const dr_cudnnTensorDesc xDesc, const void *x, const dr_cudnnTensorDesc dyDesc, const void *y,
	const dr_cudnnConvDesc convDesc, const dr_cudnnFilterDesc dwDesc, void *dw,
	const int requestedAlgoCount, int *returnedAlgoCount, dr_cudnnConvBwdFilterPerf *perfResults,
	void *workSpace, size_t workSpaceSizeInBytes);
typedef dr_cudnnStatus (*dr_pfn_cudnnConvolutionBackwardFilter)(dr_cudnnHandle handle, const void *alpha,
	const dr_cudnnTensorDesc xDesc, const void *x, const dr_cudnnTensorDesc dyDesc, const void *dy,
	const dr_cudnnConvDesc convDesc, dr_cudnnConvBwdFilterAlgo algo, void *workSpace, size_t workSpaceSizeInBytes,
	const void *beta, const dr_cudnnFilterDesc dwDesc, void *dw);

typedef dr_cudnnStatus (*dr_pfn_cudnnBatchNormalizationForwardTraining)(dr_cudnnHandle handle,
	dr_cudnnBatchNormMode mode, const void *alpha, const void *beta,
	const dr_cudnnTensorDesc xDesc, const void *x, const dr_cudnnTensorDesc yDesc, void *y,
	const dr_cudnnTensorDesc bnScaleBiasMeanVarDesc, const void *bnScale, const void *bnBias,
	double exponentialAverageFactor, void *resultRunningMean, void *resultRunningVariance,
	double epsilon, void *resultSaveMean, void *resultSaveInvVariance);
typedef dr_cudnnStatus (*dr_pfn_cudnnBatchNormalizationForwardInference)(dr_cudnnHandle handle,
	dr_cudnnBatchNormMode mode, const void *alpha, const void *beta,
	const dr_cudnnTensorDesc xDesc, const void *x, const dr_cudnnTensorDesc yDesc, void *y,
	const dr_cudnnTensorDesc bnScaleBiasMeanVarDesc, const void *bnScale, const void *bnBias,
	const void *estimatedMean, const void *estimatedVariance, double epsilon);
typedef dr_cudnnStatus (*dr_pfn_cudnnBatchNormalizationBackward)(dr_cudnnHandle handle,
	dr_cudnnBatchNormMode mode, const void *alphaDataDiff, const void *betaDataDiff,
	const void *alphaParamDiff, const void *betaParamDiff,
	const dr_cudnnTensorDesc xDesc, const void *x, const dr_cudnnTensorDesc dyDesc, const void *dy,
	const dr_cudnnTensorDesc dxDesc, void *dx, const dr_cudnnTensorDesc dBnScaleBiasDesc,
	const void *bnScale, void *dBnScaleResult, void *dBnBiasResult, double epsilon,
	const void *savedMean, const void *savedInvVariance);

/* cudnn_ops.h: the descriptor of batch norm's scale, bias, mean and
 * variance for x's shape and type (FLOAT for HALF and BFLOAT16 x). */
typedef dr_cudnnStatus (*dr_pfn_cudnnDeriveBNTensorDescriptor)(dr_cudnnTensorDesc derivedBnDesc,
	const dr_cudnnTensorDesc xDesc, dr_cudnnBatchNormMode mode);

/* cudnn_ops.h: the extended (fused) batch norm, y = act(BN(x) + z), its
 * backward, and the sizes of their workspaces and of the reserve space the
 * forward fills for the backward. */
typedef dr_cudnnStatus (*dr_pfn_cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize)(dr_cudnnHandle handle,
	dr_cudnnBatchNormMode mode, dr_cudnnBatchNormOps bnOps, const dr_cudnnTensorDesc xDesc,
	const dr_cudnnTensorDesc zDesc, const dr_cudnnTensorDesc yDesc, const dr_cudnnTensorDesc bnScaleBiasMeanVarDesc,
	const dr_cudnnActivationDesc activationDesc, size_t *sizeInBytes);
typedef dr_cudnnStatus (*dr_pfn_cudnnGetBatchNormalizationBackwardExWorkspaceSize)(dr_cudnnHandle handle,
	dr_cudnnBatchNormMode mode, dr_cudnnBatchNormOps bnOps, const dr_cudnnTensorDesc xDesc,
	const dr_cudnnTensorDesc yDesc, const dr_cudnnTensorDesc dyDesc, const dr_cudnnTensorDesc dzDesc,
	const dr_cudnnTensorDesc dxDesc, const dr_cudnnTensorDesc dBnScaleBiasDesc,
	const dr_cudnnActivationDesc activationDesc, size_t *sizeInBytes);
typedef dr_cudnnStatus (*dr_pfn_cudnnGetBatchNormalizationTrainingExReserveSpaceSize)(dr_cudnnHandle handle,
	dr_cudnnBatchNormMode mode, dr_cudnnBatchNormOps bnOps, const dr_cudnnActivationDesc activationDesc,
	const dr_cudnnTensorDesc xDesc, size_t *sizeInBytes);
typedef dr_cudnnStatus (*dr_pfn_cudnnBatchNormalizationForwardTrainingEx)(dr_cudnnHandle handle,
	dr_cudnnBatchNormMode mode, dr_cudnnBatchNormOps bnOps, const void *alpha, const void *beta,
	const dr_cudnnTensorDesc xDesc, const void *xData, const dr_cudnnTensorDesc zDesc, const void *zData,
	const dr_cudnnTensorDesc yDesc, void *yData, const dr_cudnnTensorDesc bnScaleBiasMeanVarDesc,
	const void *bnScale, const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
	void *resultRunningVariance, double epsilon, void *resultSaveMean, void *resultSaveInvVariance,
	dr_cudnnActivationDesc activationDesc, void *workspace, size_t workSpaceSizeInBytes, void *reserveSpace,
	size_t reserveSpaceSizeInBytes);
typedef dr_cudnnStatus (*dr_pfn_cudnnBatchNormalizationBackwardEx)(dr_cudnnHandle handle,
	dr_cudnnBatchNormMode mode, dr_cudnnBatchNormOps bnOps, const void *alphaDataDiff, const void *betaDataDiff,
	const void *alphaParamDiff, const void *betaParamDiff, const dr_cudnnTensorDesc xDesc, const void *xData,
	const dr_cudnnTensorDesc yDesc, const void *yData, const dr_cudnnTensorDesc dyDesc, const void *dyData,
	const dr_cudnnTensorDesc dzDesc, void *dzData, const dr_cudnnTensorDesc dxDesc, void *dxData,
	const dr_cudnnTensorDesc dBnScaleBiasDesc, const void *bnScaleData, const void *bnBiasData, void *dBnScaleData,
	void *dBnBiasData, double epsilon, const void *savedMean, const void *savedInvVariance,
	dr_cudnnActivationDesc activationDesc, void *workSpace, size_t workSpaceSizeInBytes, void *reserveSpace,
	size_t reserveSpaceSizeInBytes);
typedef dr_cudnnStatus (*dr_pfn_cudnnActivationForward)(dr_cudnnHandle handle,
	dr_cudnnActivationDesc activationDesc, const void *alpha, const dr_cudnnTensorDesc xDesc, const void *x,
	const void *beta, const dr_cudnnTensorDesc yDesc, void *y);
typedef dr_cudnnStatus (*dr_pfn_cudnnActivationBackward)(dr_cudnnHandle handle,
	dr_cudnnActivationDesc activationDesc, const void *alpha, const dr_cudnnTensorDesc yDesc, const void *y,
	const dr_cudnnTensorDesc dyDesc, const void *dy, const dr_cudnnTensorDesc xDesc, const void *x,
	const void *beta, const dr_cudnnTensorDesc dxDesc, void *dx);

typedef struct {
	dr_pfn_cudnnGetVersion cudnnGetVersion;
	dr_pfn_cudnnGetCudartVersion cudnnGetCudartVersion;
	dr_pfn_cudnnGetErrorString cudnnGetErrorString;
	dr_pfn_cudnnCreate cudnnCreate;
	dr_pfn_cudnnDestroy cudnnDestroy;
	dr_pfn_cudnnSetStream cudnnSetStream;
	dr_pfn_cudnnCreateTensorDescriptor cudnnCreateTensorDescriptor;
	dr_pfn_cudnnSetTensor4dDescriptor cudnnSetTensor4dDescriptor;
	dr_pfn_cudnnDestroyTensorDescriptor cudnnDestroyTensorDescriptor;
	dr_pfn_cudnnCreateFilterDescriptor cudnnCreateFilterDescriptor;
	dr_pfn_cudnnSetFilter4dDescriptor cudnnSetFilter4dDescriptor;
	dr_pfn_cudnnDestroyFilterDescriptor cudnnDestroyFilterDescriptor;
	dr_pfn_cudnnCreateConvolutionDescriptor cudnnCreateConvolutionDescriptor;
	dr_pfn_cudnnSetConvolution2dDescriptor cudnnSetConvolution2dDescriptor;
	dr_pfn_cudnnSetConvolutionMathType cudnnSetConvolutionMathType;
	dr_pfn_cudnnDestroyConvolutionDescriptor cudnnDestroyConvolutionDescriptor;
	dr_pfn_cudnnCreateActivationDescriptor cudnnCreateActivationDescriptor;
	dr_pfn_cudnnSetActivationDescriptor cudnnSetActivationDescriptor;
	dr_pfn_cudnnDestroyActivationDescriptor cudnnDestroyActivationDescriptor;
	dr_pfn_cudnnFindConvolutionForwardAlgorithmEx cudnnFindConvolutionForwardAlgorithmEx;
	dr_pfn_cudnnConvolutionForward cudnnConvolutionForward;
	dr_pfn_cudnnFindConvolutionBackwardDataAlgorithmEx cudnnFindConvolutionBackwardDataAlgorithmEx;
	dr_pfn_cudnnConvolutionBackwardData cudnnConvolutionBackwardData;
	dr_pfn_cudnnFindConvolutionBackwardFilterAlgorithmEx cudnnFindConvolutionBackwardFilterAlgorithmEx;
	dr_pfn_cudnnConvolutionBackwardFilter cudnnConvolutionBackwardFilter;
	dr_pfn_cudnnBatchNormalizationForwardTraining cudnnBatchNormalizationForwardTraining;
	dr_pfn_cudnnBatchNormalizationForwardInference cudnnBatchNormalizationForwardInference;
	dr_pfn_cudnnBatchNormalizationBackward cudnnBatchNormalizationBackward;
	dr_pfn_cudnnDeriveBNTensorDescriptor cudnnDeriveBNTensorDescriptor;
	dr_pfn_cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize;
	dr_pfn_cudnnGetBatchNormalizationBackwardExWorkspaceSize cudnnGetBatchNormalizationBackwardExWorkspaceSize;
	dr_pfn_cudnnGetBatchNormalizationTrainingExReserveSpaceSize cudnnGetBatchNormalizationTrainingExReserveSpaceSize;
	dr_pfn_cudnnBatchNormalizationForwardTrainingEx cudnnBatchNormalizationForwardTrainingEx;
	dr_pfn_cudnnBatchNormalizationBackwardEx cudnnBatchNormalizationBackwardEx;
	dr_pfn_cudnnActivationForward cudnnActivationForward;
	dr_pfn_cudnnActivationBackward cudnnActivationBackward;
} dr_cudnn_api;

/* The table, defined in shim.c and filled by lib.go. */
extern dr_cudnn_api dr_dnn;

#endif
