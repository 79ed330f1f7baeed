/*
 * cudnn_calls.h: C wrappers through the dr_dnn table (cgo cannot call a
 * function pointer). Device memory is passed as unsigned long long (the
 * driver's CUdeviceptr) and turned into void* here; the host scaling factors
 * alpha/beta are taken by value and passed by address, as cuDNN wants floats
 * for float, half and bfloat16 tensors (cuDNN API reference, "Scaling
 * Parameters": double only for double data).
 */
#ifndef DEEPRES_CUDNN_CALLS_H
#define DEEPRES_CUDNN_CALLS_H

#include <stdint.h>
#include "cudnn_shim.h"

typedef unsigned long long dr_dptr;
#define DP(p) ((void *)(uintptr_t)(p))

static size_t dr_cudnnGetVersion(void) { return dr_dnn.cudnnGetVersion(); }
static size_t dr_cudnnGetCudartVersion(void) { return dr_dnn.cudnnGetCudartVersion(); }
static const char *dr_cudnnGetErrorString(dr_cudnnStatus s) { return dr_dnn.cudnnGetErrorString(s); }
static dr_cudnnStatus dr_cudnnCreate(dr_cudnnHandle *h) { return dr_dnn.cudnnCreate(h); }
static dr_cudnnStatus dr_cudnnDestroy(dr_cudnnHandle h) { return dr_dnn.cudnnDestroy(h); }
static dr_cudnnStatus dr_cudnnSetStream(dr_cudnnHandle h, void *s) { return dr_dnn.cudnnSetStream(h, (dr_cudaStream)s); }

static dr_cudnnStatus dr_newTensor4d(dr_cudnnTensorDesc *d, dr_cudnnTensorFormat f, dr_cudnnDataType t, int n, int c, int h, int w) {
	dr_cudnnStatus s = dr_dnn.cudnnCreateTensorDescriptor(d);
	if (s != DR_CUDNN_STATUS_SUCCESS) return s;
	s = dr_dnn.cudnnSetTensor4dDescriptor(*d, f, t, n, c, h, w);
	if (s != DR_CUDNN_STATUS_SUCCESS) { dr_dnn.cudnnDestroyTensorDescriptor(*d); *d = NULL; }
	return s;
}
/* The batch-norm parameter descriptor derived from x's (spatial mode). */
static dr_cudnnStatus dr_newDerivedBN(dr_cudnnTensorDesc *d, dr_cudnnTensorDesc xd) {
	dr_cudnnStatus s = dr_dnn.cudnnCreateTensorDescriptor(d);
	if (s != DR_CUDNN_STATUS_SUCCESS) return s;
	s = dr_dnn.cudnnDeriveBNTensorDescriptor(*d, xd, DR_CUDNN_BATCHNORM_SPATIAL);
	if (s != DR_CUDNN_STATUS_SUCCESS) { dr_dnn.cudnnDestroyTensorDescriptor(*d); *d = NULL; }
	return s;
}
static dr_cudnnStatus dr_destroyTensor(dr_cudnnTensorDesc d) { return dr_dnn.cudnnDestroyTensorDescriptor(d); }

static dr_cudnnStatus dr_newFilter4d(dr_cudnnFilterDesc *d, dr_cudnnTensorFormat f, dr_cudnnDataType t, int k, int c, int h, int w) {
	dr_cudnnStatus s = dr_dnn.cudnnCreateFilterDescriptor(d);
	if (s != DR_CUDNN_STATUS_SUCCESS) return s;
	s = dr_dnn.cudnnSetFilter4dDescriptor(*d, t, f, k, c, h, w);
	if (s != DR_CUDNN_STATUS_SUCCESS) { dr_dnn.cudnnDestroyFilterDescriptor(*d); *d = NULL; }
	return s;
}
static dr_cudnnStatus dr_destroyFilter(dr_cudnnFilterDesc d) { return dr_dnn.cudnnDestroyFilterDescriptor(d); }

static dr_cudnnStatus dr_newConv2d(dr_cudnnConvDesc *d, int ph, int pw, int sh, int sw, dr_cudnnMathType math) {
	dr_cudnnStatus s = dr_dnn.cudnnCreateConvolutionDescriptor(d);
	if (s != DR_CUDNN_STATUS_SUCCESS) return s;
	s = dr_dnn.cudnnSetConvolution2dDescriptor(*d, ph, pw, sh, sw, 1, 1, DR_CUDNN_CROSS_CORRELATION, DR_CUDNN_DATA_FLOAT);
	if (s == DR_CUDNN_STATUS_SUCCESS) s = dr_dnn.cudnnSetConvolutionMathType(*d, math);
	if (s != DR_CUDNN_STATUS_SUCCESS) { dr_dnn.cudnnDestroyConvolutionDescriptor(*d); *d = NULL; }
	return s;
}
static dr_cudnnStatus dr_setConvMath(dr_cudnnConvDesc d, dr_cudnnMathType math) { return dr_dnn.cudnnSetConvolutionMathType(d, math); }
static dr_cudnnStatus dr_destroyConv(dr_cudnnConvDesc d) { return dr_dnn.cudnnDestroyConvolutionDescriptor(d); }

static dr_cudnnStatus dr_newActivation(dr_cudnnActivationDesc *d, dr_cudnnActivationMode mode) {
	dr_cudnnStatus s = dr_dnn.cudnnCreateActivationDescriptor(d);
	if (s != DR_CUDNN_STATUS_SUCCESS) return s;
	s = dr_dnn.cudnnSetActivationDescriptor(*d, mode, DR_CUDNN_PROPAGATE_NAN, 0.0);
	if (s != DR_CUDNN_STATUS_SUCCESS) { dr_dnn.cudnnDestroyActivationDescriptor(*d); *d = NULL; }
	return s;
}
static dr_cudnnStatus dr_destroyActivation(dr_cudnnActivationDesc d) { return dr_dnn.cudnnDestroyActivationDescriptor(d); }

static dr_cudnnStatus dr_findFwd(dr_cudnnHandle h, dr_cudnnTensorDesc xd, dr_dptr x, dr_cudnnFilterDesc wd, dr_dptr w,
	dr_cudnnConvDesc cd, dr_cudnnTensorDesc yd, dr_dptr y, int req, int *got, dr_cudnnConvFwdPerf *perf, dr_dptr ws, size_t wsSize) {
	return dr_dnn.cudnnFindConvolutionForwardAlgorithmEx(h, xd, DP(x), wd, DP(w), cd, yd, DP(y), req, got, perf, DP(ws), wsSize);
}
static dr_cudnnStatus dr_convFwd(dr_cudnnHandle h, float alpha, dr_cudnnTensorDesc xd, dr_dptr x, dr_cudnnFilterDesc wd, dr_dptr w,
	dr_cudnnConvDesc cd, dr_cudnnConvFwdAlgo algo, dr_dptr ws, size_t wsSize, float beta, dr_cudnnTensorDesc yd, dr_dptr y) {
	return dr_dnn.cudnnConvolutionForward(h, &alpha, xd, DP(x), wd, DP(w), cd, algo, DP(ws), wsSize, &beta, yd, DP(y));
}
static dr_cudnnStatus dr_findBwdData(dr_cudnnHandle h, dr_cudnnFilterDesc wd, dr_dptr w, dr_cudnnTensorDesc dyd, dr_dptr dy,
	dr_cudnnConvDesc cd, dr_cudnnTensorDesc dxd, dr_dptr dx, int req, int *got, dr_cudnnConvBwdDataPerf *perf, dr_dptr ws, size_t wsSize) {
	return dr_dnn.cudnnFindConvolutionBackwardDataAlgorithmEx(h, wd, DP(w), dyd, DP(dy), cd, dxd, DP(dx), req, got, perf, DP(ws), wsSize);
}
static dr_cudnnStatus dr_convBwdData(dr_cudnnHandle h, float alpha, dr_cudnnFilterDesc wd, dr_dptr w, dr_cudnnTensorDesc dyd, dr_dptr dy,
	dr_cudnnConvDesc cd, dr_cudnnConvBwdDataAlgo algo, dr_dptr ws, size_t wsSize, float beta, dr_cudnnTensorDesc dxd, dr_dptr dx) {
	return dr_dnn.cudnnConvolutionBackwardData(h, &alpha, wd, DP(w), dyd, DP(dy), cd, algo, DP(ws), wsSize, &beta, dxd, DP(dx));
}
static dr_cudnnStatus dr_findBwdFilter(dr_cudnnHandle h, dr_cudnnTensorDesc xd, dr_dptr x, dr_cudnnTensorDesc dyd, dr_dptr dy,
	dr_cudnnConvDesc cd, dr_cudnnFilterDesc dwd, dr_dptr dw, int req, int *got, dr_cudnnConvBwdFilterPerf *perf, dr_dptr ws, size_t wsSize) {
	return dr_dnn.cudnnFindConvolutionBackwardFilterAlgorithmEx(h, xd, DP(x), dyd, DP(dy), cd, dwd, DP(dw), req, got, perf, DP(ws), wsSize);
}
static dr_cudnnStatus dr_convBwdFilter(dr_cudnnHandle h, float alpha, dr_cudnnTensorDesc xd, dr_dptr x, dr_cudnnTensorDesc dyd, dr_dptr dy,
	dr_cudnnConvDesc cd, dr_cudnnConvBwdFilterAlgo algo, dr_dptr ws, size_t wsSize, float beta, dr_cudnnFilterDesc dwd, dr_dptr dw) {
	return dr_dnn.cudnnConvolutionBackwardFilter(h, &alpha, xd, DP(x), dyd, DP(dy), cd, algo, DP(ws), wsSize, &beta, dwd, DP(dw));
}

static dr_cudnnStatus dr_bnFwdTrain(dr_cudnnHandle h, dr_cudnnTensorDesc xd, dr_dptr x, dr_dptr y, dr_cudnnTensorDesc pd,
	dr_dptr gamma, dr_dptr beta, double factor, dr_dptr runMean, dr_dptr runVar, double eps, dr_dptr saveMean, dr_dptr saveInvStd) {
	float one = 1.0f, zero = 0.0f;
	return dr_dnn.cudnnBatchNormalizationForwardTraining(h, DR_CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, DP(x), xd, DP(y),
		pd, DP(gamma), DP(beta), factor, DP(runMean), DP(runVar), eps, DP(saveMean), DP(saveInvStd));
}
static dr_cudnnStatus dr_bnFwdInfer(dr_cudnnHandle h, dr_cudnnTensorDesc xd, dr_dptr x, dr_dptr y, dr_cudnnTensorDesc pd,
	dr_dptr gamma, dr_dptr beta, dr_dptr runMean, dr_dptr runVar, double eps) {
	float one = 1.0f, zero = 0.0f;
	return dr_dnn.cudnnBatchNormalizationForwardInference(h, DR_CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, DP(x), xd, DP(y),
		pd, DP(gamma), DP(beta), DP(runMean), DP(runVar), eps);
}
static dr_cudnnStatus dr_bnBwd(dr_cudnnHandle h, float betaData, dr_cudnnTensorDesc xd, dr_dptr x, dr_dptr dy, dr_dptr dx,
	dr_cudnnTensorDesc pd, dr_dptr gamma, dr_dptr dgamma, dr_dptr dbeta, double eps, dr_dptr saveMean, dr_dptr saveInvStd) {
	float one = 1.0f, zero = 0.0f;
	return dr_dnn.cudnnBatchNormalizationBackward(h, DR_CUDNN_BATCHNORM_SPATIAL, &one, &betaData, &one, &zero,
		xd, DP(x), xd, DP(dy), xd, DP(dx), pd, DP(gamma), DP(dgamma), DP(dbeta), eps, DP(saveMean), DP(saveInvStd));
}

/* The extended batch norm: mode SPATIAL_PERSISTENT for the fused ops (cuDNN
 * fuses only there), SPATIAL for BN alone; z, y (backward), the activation
 * and dz only for the ops that use them (NULL otherwise, as the API
 * reference allows). */
static dr_cudnnBatchNormMode dr_bnExMode(dr_cudnnBatchNormOps ops) {
	return ops == DR_CUDNN_BATCHNORM_OPS_BN ? DR_CUDNN_BATCHNORM_SPATIAL : DR_CUDNN_BATCHNORM_SPATIAL_PERSISTENT;
}
static dr_cudnnStatus dr_bnExSizes(dr_cudnnHandle h, dr_cudnnBatchNormOps ops, dr_cudnnTensorDesc xd, dr_cudnnTensorDesc pd,
	dr_cudnnActivationDesc relu, size_t *fwd, size_t *bwd, size_t *reserve) {
	dr_cudnnBatchNormMode m = dr_bnExMode(ops);
	int add = ops == DR_CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION, act = ops != DR_CUDNN_BATCHNORM_OPS_BN;
	dr_cudnnStatus s = dr_dnn.cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, m, ops, xd, add ? xd : NULL, xd, pd,
		act ? relu : NULL, fwd);
	if (s == DR_CUDNN_STATUS_SUCCESS)
		s = dr_dnn.cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, m, ops, xd, act ? xd : NULL, xd, add ? xd : NULL, xd, pd,
			act ? relu : NULL, bwd);
	if (s == DR_CUDNN_STATUS_SUCCESS)
		s = dr_dnn.cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, m, ops, act ? relu : NULL, xd, reserve);
	return s;
}
static dr_cudnnStatus dr_bnFwdTrainEx(dr_cudnnHandle h, dr_cudnnBatchNormOps ops, dr_cudnnTensorDesc xd, dr_dptr x, dr_dptr z,
	dr_dptr y, dr_cudnnTensorDesc pd, dr_dptr gamma, dr_dptr beta, double factor, dr_dptr runMean, dr_dptr runVar, double eps,
	dr_dptr saveMean, dr_dptr saveInvStd, dr_cudnnActivationDesc relu, dr_dptr ws, size_t wsSize, dr_dptr rs, size_t rsSize) {
	float one = 1.0f, zero = 0.0f;
	int add = ops == DR_CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION, act = ops != DR_CUDNN_BATCHNORM_OPS_BN;
	return dr_dnn.cudnnBatchNormalizationForwardTrainingEx(h, dr_bnExMode(ops), ops, &one, &zero, xd, DP(x), add ? xd : NULL, DP(z),
		xd, DP(y), pd, DP(gamma), DP(beta), factor, DP(runMean), DP(runVar), eps, DP(saveMean), DP(saveInvStd),
		act ? relu : NULL, DP(ws), wsSize, DP(rs), rsSize);
}
static dr_cudnnStatus dr_bnBwdEx(dr_cudnnHandle h, dr_cudnnBatchNormOps ops, dr_cudnnTensorDesc xd, dr_dptr x, dr_dptr y, dr_dptr dy,
	dr_dptr dz, dr_dptr dx, dr_cudnnTensorDesc pd, dr_dptr gamma, dr_dptr beta, dr_dptr dgamma, dr_dptr dbeta, double eps,
	dr_dptr saveMean, dr_dptr saveInvStd, dr_cudnnActivationDesc relu, dr_dptr ws, size_t wsSize, dr_dptr rs, size_t rsSize) {
	float one = 1.0f, zero = 0.0f;
	int add = ops == DR_CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION, act = ops != DR_CUDNN_BATCHNORM_OPS_BN;
	return dr_dnn.cudnnBatchNormalizationBackwardEx(h, dr_bnExMode(ops), ops, &one, &zero, &one, &zero, xd, DP(x),
		act ? xd : NULL, DP(y), xd, DP(dy), add ? xd : NULL, DP(dz), xd, DP(dx), pd, DP(gamma), DP(beta), DP(dgamma), DP(dbeta),
		eps, DP(saveMean), DP(saveInvStd), act ? relu : NULL, DP(ws), wsSize, DP(rs), rsSize);
}

static dr_cudnnStatus dr_actFwd(dr_cudnnHandle h, dr_cudnnActivationDesc ad, dr_cudnnTensorDesc d, dr_dptr x, float beta, dr_dptr y) {
	float one = 1.0f;
	return dr_dnn.cudnnActivationForward(h, ad, &one, d, DP(x), &beta, d, DP(y));
}
static dr_cudnnStatus dr_actBwd(dr_cudnnHandle h, dr_cudnnActivationDesc ad, dr_cudnnTensorDesc d, dr_dptr y, dr_dptr dy, dr_dptr x, float beta, dr_dptr dx) {
	float one = 1.0f;
	return dr_dnn.cudnnActivationBackward(h, ad, &one, d, DP(y), d, DP(dy), d, DP(x), &beta, d, DP(dx));
}

#endif
