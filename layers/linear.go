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
	// float32 whatever Env.Act: the logits feed the float32 loss, and the
	// final layer stays float32 (issue 22). Its input may be half: the
	// op widens it when it reads it.
	l.buf = l.env.Alloc(out...)
	return out
}

func (l *Linear) Forward(x ops.Tensor) ops.Tensor {
	y := l.env.batchView(l.buf, x.Shape()[0])
	l.env.B.LinearForward(y, x, l.W.Value)
	l.env.B.AddBias(y, l.B.Value)
	l.x = x
	return y
}

func (l *Linear) Backward(dx, dy ops.Tensor, add bool) {
	b := l.env.B
	if dx != nil {
		b.LinearBackwardData(dx, dy, l.W.Value, add)
	}
	b.LinearBackwardWeight(l.W.Grad, dy, l.x)
	b.BiasBackward(l.B.Grad, dy)
}

func (*Linear) KeepsOutput() bool { return false }
