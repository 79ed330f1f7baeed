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
