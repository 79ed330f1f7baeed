package layers

import "github.com/deepres/deepres/ops"

// GlobalAvgPool averages each channel over its pixels: (N,C,H,W) → (N,C).
type GlobalAvgPool struct {
	env *Env
	buf ops.Tensor
}

// NewGlobalAvgPool returns the pooling before the classifier.
func NewGlobalAvgPool(e *Env) *GlobalAvgPool { return &GlobalAvgPool{env: e} }

func (g *GlobalAvgPool) Setup(in ops.Shape) ops.Shape {
	n, c, _, _ := in.NCHW()
	out := ops.Shape{n, c}
	g.buf = g.env.alloc(out)
	return out
}

func (g *GlobalAvgPool) Forward(x ops.Tensor) ops.Tensor {
	y := g.env.batchView(g.buf, x.Shape()[0])
	g.env.B.GlobalAvgPoolForward(y, x)
	return y
}

func (g *GlobalAvgPool) Backward(dx, dy ops.Tensor, add bool) {
	g.env.B.GlobalAvgPoolBackward(dx, dy, add)
}

func (*GlobalAvgPool) KeepsOutput() bool { return false }
