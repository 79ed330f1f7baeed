package layers

import "github.com/deepres/deepres/ops"

// halfWeight is a parameter as a conv or linear op reads it. With Env.Act
// float32 it is the parameter itself. With half activations it is a copy
// in Env.Act, cast from the float32 master weight before each forward
// pass, and a gradient in Env.Act that is widened into the float32
// gradient after the backward op. That is what PyTorch autocast does for
// the ops on its "autocast to float16" list (conv2d, linear: torch.amp
// docs, "Autocast Op Reference"): it casts the float32 weight to the
// half type each forward, and autograd's backward of that cast converts
// the half weight gradient back to float32 for the optimiser (the "FP32
// master copy of weights" of NVIDIA's Training with Mixed Precision
// guide). It is also what the GPU needs: cuDNN's convolutions take x, w
// and y of one data type, and cublasGemmEx's A and B share one.
//
// The copies cost half the parameter bytes twice (value and gradient),
// small beside the activations they halve.
type halfWeight struct {
	p    *Param
	w, g ops.Tensor // nil when the op reads p directly
}

// newHalfWeight allocates p's copies when e's activations are half; call
// it from Setup (the parameter exists, its storage does not need to).
func newHalfWeight(e *Env, p *Param) halfWeight {
	h := halfWeight{p: p}
	if e.Act != ops.Float32 {
		h.w = e.AllocAs(e.Act, p.Shape...)
		h.g = e.AllocAs(e.Act, p.Shape...)
	}
	return h
}

// cast refreshes the half copy from the master weight and returns what
// the forward op reads: called once per forward pass.
func (h halfWeight) cast(b ops.Backend) ops.Tensor {
	if h.w == nil {
		return h.p.Value
	}
	b.Copy(h.w, h.p.Value)
	return h.w
}

// value is what the backward ops read: the copy the forward pass cast.
func (h halfWeight) value() ops.Tensor {
	if h.w == nil {
		return h.p.Value
	}
	return h.w
}

// grad is where the backward op writes the weight gradient.
func (h halfWeight) grad() ops.Tensor {
	if h.g == nil {
		return h.p.Grad
	}
	return h.g
}

// widen copies a half gradient into the float32 one; call it after the
// op that wrote grad().
func (h halfWeight) widen(b ops.Backend) {
	if h.g != nil {
		b.Copy(h.p.Grad, h.g)
	}
}
