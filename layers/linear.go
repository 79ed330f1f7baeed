package layers

import (
	"math"

	"github.com/deepres/deepres/ops"
)

// Linear is the classifier: y (N,out) = x (N,in)·wᵀ + b, initialised
// U(−1/sqrt(in), 1/sqrt(in)) for weight and bias (PyTorch's nn.Linear).
type Linear struct {
	env  *Env
	W, B *Param
	buf  ops.Tensor
	w    halfWeight // W as the ops read it (Env.Act)
	x    ops.Tensor
}

// NewLinear registers name.weight (out,in) and name.bias (out).
func NewLinear(e *Env, ps *ParamSet, name string, in, out int) *Linear {
	bound := 1 / math.Sqrt(float64(in))
	u := Init{InitUniform, bound}
	return &Linear{
		env: e,
		W:   ps.Add(name+".weight", ops.Shape{out, in}, u, true),
		B:   ps.Add(name+".bias", ops.Shape{out}, u, true),
	}
}

func (l *Linear) Setup(in ops.Shape) ops.Shape {
	if len(in) != 2 || in[1] != l.W.Shape[1] {
		panic("layers: linear input must be (N, in)")
	}
	out := ops.Shape{in[0], l.W.Shape[0]}
	// The logits are float32 whatever Env.Act: they feed the float32
	// loss (cross_entropy is on autocast's "autocast to float32" list).
	// With half activations the product itself reads half operands, as
	// autocast's linear does: x and a half copy of W (halfWeight), summed
	// in float32 (cublasGemmEx with half A and B, float32 C and compute).
	// Its backward reads the loss gradient cast to half (autocast's
	// linear output is half, so autograd casts the float32 gradient of
	// the loss to half before linear's backward).
	l.buf = l.env.Alloc(out...)
	l.w = newHalfWeight(l.env, l.W)
	if l.w.half() {
		l.env.Scratch.Reserve(out.Len()) // the logits' gradient, cast
	}
	return out
}

func (l *Linear) Forward(x ops.Tensor) ops.Tensor {
	y := l.env.batchView(l.buf, x.Shape()[0])
	f := l.w.frame(1)
	l.env.B.LinearForward(y, x, l.w.cast(f, 0))
	f.Done()
	l.env.B.AddBias(y, l.B.Value)
	l.x = x
	return y
}

func (l *Linear) Backward(dx, dy ops.Tensor, add bool) {
	b := l.env.B
	f := l.w.frame(weightSlots)
	defer f.Done()
	dyAct := dy
	if l.w.half() {
		dyAct = f.T(2, dy.Shape())
		b.Copy(dyAct, dy)
	}
	if dx != nil {
		b.LinearBackwardData(dx, dyAct, l.w.cast(f, 0), add)
	}
	dw := l.w.grad(f, 1)
	b.LinearBackwardWeight(dw, dyAct, l.x)
	l.w.widen(dw)
	b.BiasBackward(l.B.Grad, dy) // the bias gradient from the float32 dy: no cast needed
}

func (*Linear) KeepsOutput() bool { return false }
