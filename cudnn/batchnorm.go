package cudnn

/*
#include "cudnn_calls.h"
*/
import "C"

import "fmt"

// bn returns the descriptors of x (N,C,H,W), which also describes y, dx and
// dy (one type for all: cuDNN's batch norm takes the same shape and type for
// them), and of the per-channel parameters and statistics: derived from x's
// by cudnnDeriveBNTensorDescriptor, which gives (1,C,1,1) in FLOAT for HALF
// x (cuDNN API reference, cudnnDeriveBNTensorDescriptor: "for HALF input
// data type the resulting tensor descriptor will have a FLOAT type") and,
// measured on cuDNN 9.10.2 and 9.28.1, for BFLOAT16 x too (the simulator's
// cudnnDeriveBNTensorDescriptor, checked against them): gamma, beta, the
// running and saved statistics, dgamma and dbeta are float in every precision.
func (h *Handle) bn(x Shape4) (xd, pd C.dr_cudnnTensorDesc, err error) {
	if xd, err = h.tensor(x); err != nil {
		return nil, nil, err
	}
	if pd, ok := h.bnParam[x]; ok {
		return xd, pd, nil
	}
	if err = check(fmt.Sprintf("cudnnDeriveBNTensorDescriptor%v", x), C.dr_newDerivedBN(&pd, xd)); err != nil {
		return nil, nil, err
	}
	h.bnParam[x] = pd
	return xd, pd, nil
}

// BatchNormForwardTraining normalises x (shape) per channel with the batch
// statistics into y (written), writes saveMean and saveInvStd (C) and updates
// runMean/runVar (C) in place: running = (1−momentum)·running + momentum·batch.
// cuDNN's exponentialAverageFactor is exactly that momentum, and it keeps the
// unbiased batch variance in runVar while normalising with the biased one
// (the convention PyTorch relies on when it calls cuDNN). eps must be at
// least CUDNN_BN_MIN_EPSILON, which cuDNN 9's cudnn_ops.h defines as 0.0 (it
// was 1e-5 in cuDNN 7 and older); use the same eps in BatchNormBackward.
func (h *Handle) BatchNormForwardTraining(y, x Ptr, shape Shape4, gamma, beta, runMean, runVar, saveMean, saveInvStd Ptr, momentum, eps float64) error {
	xd, pd, err := h.bn(shape)
	if err != nil {
		return err
	}
	return check("cudnnBatchNormalizationForwardTraining", C.dr_bnFwdTrain(h.h, xd, C.dr_dptr(x), C.dr_dptr(y), pd,
		C.dr_dptr(gamma), C.dr_dptr(beta), C.double(momentum), C.dr_dptr(runMean), C.dr_dptr(runVar),
		C.double(eps), C.dr_dptr(saveMean), C.dr_dptr(saveInvStd)))
}

// BatchNormForwardInference: y = gamma·(x−runMean)/sqrt(runVar+eps) + beta; y written.
func (h *Handle) BatchNormForwardInference(y, x Ptr, shape Shape4, gamma, beta, runMean, runVar Ptr, eps float64) error {
	xd, pd, err := h.bn(shape)
	if err != nil {
		return err
	}
	return check("cudnnBatchNormalizationForwardInference", C.dr_bnFwdInfer(h.h, xd, C.dr_dptr(x), C.dr_dptr(y), pd,
		C.dr_dptr(gamma), C.dr_dptr(beta), C.dr_dptr(runMean), C.dr_dptr(runVar), C.double(eps)))
}

// BatchNormBackward computes dx (added into when add, else written) and
// dgamma, dbeta (C, written) from dy, x and the saved statistics.
func (h *Handle) BatchNormBackward(dx, dgamma, dbeta, dy, x Ptr, shape Shape4, gamma, saveMean, saveInvStd Ptr, eps float64, add bool) error {
	xd, pd, err := h.bn(shape)
	if err != nil {
		return err
	}
	return check("cudnnBatchNormalizationBackward", C.dr_bnBwd(h.h, beta(add), xd, C.dr_dptr(x), C.dr_dptr(dy), C.dr_dptr(dx), pd,
		C.dr_dptr(gamma), C.dr_dptr(dgamma), C.dr_dptr(dbeta), C.double(eps), C.dr_dptr(saveMean), C.dr_dptr(saveInvStd)))
}

// beta is the blend factor of an output that is added into (1) or written (0).
func beta(add bool) C.float {
	if add {
		return 1
	}
	return 0
}

// BatchNormOps selects what the extended batch-norm calls compute after the
// normalisation (cudnnBatchNormOps_t), the activation always ReLU.
type BatchNormOps uint8

const (
	BN        BatchNormOps = iota // CUDNN_BATCHNORM_OPS_BN: y = BN(x)
	BNReLU                        // CUDNN_BATCHNORM_OPS_BN_ACTIVATION: y = relu(BN(x))
	BNAddReLU                     // CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION: y = relu(BN(x) + z)
)

func (o BatchNormOps) String() string {
	switch o {
	case BN:
		return "BN"
	case BNReLU:
		return "BN+ReLU"
	case BNAddReLU:
		return "BN+add+ReLU"
	}
	return fmt.Sprintf("BatchNormOps(%d)", uint8(o))
}

func (o BatchNormOps) cudnn() C.dr_cudnnBatchNormOps {
	switch o {
	case BN:
		return C.DR_CUDNN_BATCHNORM_OPS_BN
	case BNReLU:
		return C.DR_CUDNN_BATCHNORM_OPS_BN_ACTIVATION
	case BNAddReLU:
		return C.DR_CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION
	}
	panic(fmt.Sprintf("cudnn: unknown %v", o))
}

// BatchNormExSpace is what the extended batch norm of one shape needs, in
// bytes: a workspace for the forward and one for the backward (scratch,
// "not required to be clean", any between calls), and the reserve space the
// forward fills and its backward reads, which must be kept between them.
type BatchNormExSpace struct {
	ForwardWorkspace, BackwardWorkspace, Reserve int
}

// BatchNormExSizes asks cuDNN what BatchNormForwardTrainingEx and
// BatchNormBackwardEx need for x and ops. The fused ops (BNReLU, BNAddReLU)
// run in mode CUDNN_BATCHNORM_SPATIAL_PERSISTENT, the only one cuDNN's API
// reference fuses in ("the semi-persistent NHWC kernel": x, y, z, dy, dz, dx
// HALF and packed NHWC, C a multiple of 4, a workspace); BN alone in mode
// CUDNN_BATCHNORM_SPATIAL, as BatchNormForwardTraining. Where cuDNN refuses
// the configuration the error wraps ErrNotSupported: the caller falls back
// to the unfused calls (or its own kernels).
func (h *Handle) BatchNormExSizes(x Shape4, ops BatchNormOps) (BatchNormExSpace, error) {
	xd, pd, err := h.bn(x)
	if err != nil {
		return BatchNormExSpace{}, err
	}
	var f, b, r C.size_t
	err = check(fmt.Sprintf("cudnnGetBatchNormalization*Ex*Size(%v, %v)", x, ops),
		C.dr_bnExSizes(h.h, ops.cudnn(), xd, pd, h.relu, &f, &b, &r))
	return BatchNormExSpace{int(f), int(b), int(r)}, err
}

// BatchNormExBuffers are the workspace and reserve space of one extended
// batch-norm call, at least the sizes BatchNormExSizes gave. For BN alone, a
// zero value runs the call as the non-extended one (the API reference: "if
// workspace is NULL and workSpaceSizeInBytes of zero is passed in, this API
// will function exactly like the non-extended function").
type BatchNormExBuffers struct {
	Workspace, Reserve         Ptr
	WorkspaceSize, ReserveSize int
}

// exArgs panics on the misuse of z (or dz) the ops do not take or need.
func exArgs(call string, ops BatchNormOps, z Ptr) {
	if (z != 0) != (ops == BNAddReLU) {
		panic(fmt.Sprintf("cudnn: %s: %v takes z (dz) exactly when it adds: got %#x", call, ops, z))
	}
}

// BatchNormForwardTrainingEx is BatchNormForwardTraining with ops fused
// after the normalisation: y = BN(x), relu(BN(x)) or relu(BN(x) + z) (z of
// x's shape, type and layout; 0 unless ops is BNAddReLU), written; the
// running and saved statistics as BatchNormForwardTraining's. buf.Reserve
// must reach BatchNormBackwardEx unchanged.
func (h *Handle) BatchNormForwardTrainingEx(ops BatchNormOps, y, x, z Ptr, shape Shape4, gamma, beta, runMean, runVar, saveMean, saveInvStd Ptr, momentum, eps float64, buf BatchNormExBuffers) error {
	const call = "cudnnBatchNormalizationForwardTrainingEx"
	exArgs(call, ops, z)
	xd, pd, err := h.bn(shape)
	if err != nil {
		return err
	}
	return check(call, C.dr_bnFwdTrainEx(h.h, ops.cudnn(), xd, C.dr_dptr(x), C.dr_dptr(z), C.dr_dptr(y), pd,
		C.dr_dptr(gamma), C.dr_dptr(beta), C.double(momentum), C.dr_dptr(runMean), C.dr_dptr(runVar), C.double(eps),
		C.dr_dptr(saveMean), C.dr_dptr(saveInvStd), h.relu, C.dr_dptr(buf.Workspace), C.size_t(buf.WorkspaceSize),
		C.dr_dptr(buf.Reserve), C.size_t(buf.ReserveSize)))
}

// BatchNormBackwardEx is the backward of BatchNormForwardTrainingEx: dx
// (written), dz (BNAddReLU: the gradient at the addition, written; else 0),
// dgamma and dbeta (written) from dy, x, the forward's y and beta (used by
// the fused ops; pass them always), the saved statistics and the reserve
// space the forward filled. Nothing is accumulated: the fused kernels write
// their outputs.
func (h *Handle) BatchNormBackwardEx(ops BatchNormOps, dx, dz, dgamma, dbeta, dy, x, y Ptr, shape Shape4, gamma, beta, saveMean, saveInvStd Ptr, eps float64, buf BatchNormExBuffers) error {
	const call = "cudnnBatchNormalizationBackwardEx"
	exArgs(call, ops, dz)
	xd, pd, err := h.bn(shape)
	if err != nil {
		return err
	}
	return check(call, C.dr_bnBwdEx(h.h, ops.cudnn(), xd, C.dr_dptr(x), C.dr_dptr(y), C.dr_dptr(dy), C.dr_dptr(dz),
		C.dr_dptr(dx), pd, C.dr_dptr(gamma), C.dr_dptr(beta), C.dr_dptr(dgamma), C.dr_dptr(dbeta), C.double(eps),
		C.dr_dptr(saveMean), C.dr_dptr(saveInvStd), h.relu, C.dr_dptr(buf.Workspace), C.size_t(buf.WorkspaceSize),
		C.dr_dptr(buf.Reserve), C.size_t(buf.ReserveSize)))
}
