package layers

import "github.com/deepres/deepres/ops"

// halfWeight is a parameter as a conv or linear op reads it. With Env.Act
// float32 it is the parameter itself. With half activations the op reads
// a copy in Env.Act, cast from the float32 master weight, and writes its
// weight gradient in Env.Act, which is then widened into the float32
// gradient. That is PyTorch autocast's treatment of conv2d and linear
// (on its "CUDA Ops that can autocast to float16" list, torch.amp docs,
// "Autocast Op Reference"): cached_cast in aten/src/ATen/autocast_mode.cpp
// casts each floating-point tensor argument, input and float32 weight, to
// the lower-precision type (caching the weight's cast for the autocast
// region), and "backward ops run in the same type that autocast used for
// corresponding forward ops" (torch.cuda.amp.autocast's docstring), so the
// weight gradient is computed in the half type and autograd's backward of
// the cast widens it to the float32 leaf: the "FP32 master copy of
// weights" of NVIDIA's Training with Mixed Precision guide. It is also
// what the GPU needs: cuDNN's convolutions take x, w and y of one data
// type, and cublasGemmEx's A and B share one.
//
// The copies live in scratch slots (Scratch), taken for the duration of
// one op, and the backward pass casts again where autocast keeps its cached
// copy alive (the same values: the master weight does not change between
// the passes). A network then holds no per-layer copy (resnet-1202 would
// hold 78 MB of them) for one more cast per layer and step, 6 bytes a
// parameter against the step's gigabytes of activations.
type halfWeight struct {
	env *Env
	p   *Param
}

// weightSlots is the most scratch slots a layer takes for its copies at
// once: the weight's value and gradient, plus the input cast to Env.Act
// (Conv.Backward) or the logits' gradient (Linear.Backward).
const weightSlots = 3

// newHalfWeight reserves scratch room for p's copies when e's activations
// are half; call it from Setup, before the network preallocates its
// scratch.
func newHalfWeight(e *Env, p *Param) halfWeight {
	if e.Act != ops.Float32 {
		e.Scratch.Reserve(p.Shape.Len())
	}
	return halfWeight{env: e, p: p}
}

// half reports whether the op reads a copy rather than the parameter.
func (h halfWeight) half() bool { return h.env.Act != ops.Float32 }

// cast returns what the op reads as the weight: the parameter, or slot i
// of f holding it cast to Env.Act. A conv weight's slot is viewed in
// Env.Layout (Frame.T), so that a conv reads and writes one layout:
// cuDNN's NHWC convolutions take the filter as CUDNN_TENSOR_NHWC (KRSC)
// too (cudnnSetFilter4dDescriptor's format, cudnn_graph.h). The cast
// (Copy, in logical order) reorders it.
func (h halfWeight) cast(f Frame, i int) ops.Tensor {
	if !h.half() {
		return h.p.Value
	}
	w := f.T(i, h.p.Shape)
	h.env.B.Copy(w, h.p.Value)
	return w
}

// castInput returns x as the op reads it: x itself when it is stored in
// Env.Act (every activation is) or activations are float32, else slot i of
// f holding it cast. Only a network's input comes in another type: the
// float32 images the stem conv reads, which autocast's conv2d casts to the
// half type like its weight (cached_cast casts every floating-point tensor
// argument), and which cuDNN must get in the weight's type.
// The backward pass casts again rather than keeping a copy.
func (h halfWeight) castInput(f Frame, i int, x ops.Tensor) ops.Tensor {
	if !h.half() || ops.DTypeOf(x) == h.env.Act {
		return x
	}
	xa := f.T(i, x.Shape())
	h.env.B.Copy(xa, x)
	return xa
}

// grad returns where the op writes the weight gradient: the parameter's,
// or slot i of f, to be widened by widen.
func (h halfWeight) grad(f Frame, i int) ops.Tensor {
	if !h.half() {
		return h.p.Grad
	}
	return f.T(i, h.p.Shape)
}

// widen copies the half gradient g (from grad) into the float32 one.
func (h halfWeight) widen(g ops.Tensor) {
	if h.half() {
		h.env.B.Copy(h.p.Grad, g)
	}
}

// frame takes n scratch slots when the weight is cast, none otherwise.
func (h halfWeight) frame(n int) Frame {
	if !h.half() {
		n = 0
	}
	return h.env.Scratch.Frame(n)
}
