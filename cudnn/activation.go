package cudnn

/*
#include "cudnn_calls.h"
*/
import "C"

// Activation selects an element-wise activation.
type Activation int

const (
	ReLU Activation = iota
	Sigmoid
)

func (h *Handle) act(a Activation) C.dr_cudnnActivationDesc {
	if a == Sigmoid {
		return h.sigmoid
	}
	return h.relu
}

// ActivationForward: y = act(x) + beta·y over n elements of type t (viewed
// as (n,1,1,1); an element-wise op does not care about the shape). cuDNN
// allows y == x; x and y have one type ("The datatype of the input tensor
// and output tensors differs" is CUDNN_STATUS_BAD_PARAM, cuDNN API
// reference, cudnnActivationForward). With beta 0, y is not read.
func (h *Handle) ActivationForward(a Activation, y, x Ptr, n int, t DataType, beta float32) error {
	d, err := h.tensor(Shape4{N: n, C: 1, H: 1, W: 1, Type: t})
	if err != nil {
		return err
	}
	return check("cudnnActivationForward", C.dr_actFwd(h.h, h.act(a), d, C.dr_dptr(x), C.float(beta), C.dr_dptr(y)))
}

// ActivationBackward: dx = act'(x)·dy + beta·dx over n elements of type t,
// from the forward output y and input x (beta 1 adds into dx). For ReLU,
// passing y for x is exact: x > 0 exactly where y > 0.
func (h *Handle) ActivationBackward(a Activation, dx, dy, y, x Ptr, n int, t DataType, beta float32) error {
	d, err := h.tensor(Shape4{N: n, C: 1, H: 1, W: 1, Type: t})
	if err != nil {
		return err
	}
	return check("cudnnActivationBackward", C.dr_actBwd(h.h, h.act(a), d, C.dr_dptr(y), C.dr_dptr(dy), C.dr_dptr(x), C.float(beta), C.dr_dptr(dx)))
}
