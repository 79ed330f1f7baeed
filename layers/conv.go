package layers

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// Conv is a 2-D convolution without bias (the papers' convs are followed by
// BN), or with one when Bias is set (the gating conv of Table 1).
type Conv struct {
	env  *Env
	W    *Param
	Bias *Param
	P    ops.ConvParams
	// Stored gives the output a buffer of its own in a recomputing unit, so
	// that a replay (Seq.Replay) reads it instead of rerunning the conv.
	Stored bool
	y      ops.Tensor
	w      halfWeight // W as the conv reads it (Env.Act)
	x, out ops.Tensor // the last forward pass's input and output
}

// NewConv registers a k×k conv from in to out channels with He init.
func NewConv(e *Env, ps *ParamSet, name string, in, out, k, stride, pad int) *Conv {
	if in < 1 || out < 1 || k < 1 || stride < 1 {
		panic(fmt.Sprintf("layers: conv %s: bad geometry in=%d out=%d k=%d stride=%d", name, in, out, k, stride))
	}
	shape := ops.Shape{out, in, k, k}
	return &Conv{env: e, W: ps.Add(name+".weight", shape, HeInit(shape), true), P: ops.Conv(stride, pad)}
}

// WithBias adds a bias initialised to b0 (the gate's b_g).
func (c *Conv) WithBias(ps *ParamSet, name string, b0 float64) *Conv {
	c.Bias = ps.Add(name+".bias", ops.Shape{c.W.Shape[0]}, Init{InitConst, b0}, true)
	return c
}

func (c *Conv) Setup(in ops.Shape) ops.Shape {
	out := c.P.OutputShape(in, c.W.Shape)
	c.w = newHalfWeight(c.env, c.W)
	if c.w.half() {
		c.env.Scratch.Reserve(in.Len()) // the input, cast (castInput)
	}
	if c.Stored {
		c.y = c.env.AllocAct(out...)
	} else {
		c.y = c.env.alloc(out)
	}
	return out
}

func (c *Conv) Forward(x ops.Tensor) ops.Tensor {
	y := c.env.batchView(c.y, x.Shape()[0])
	f := c.w.frame(2)
	c.env.B.ConvForward(y, c.w.castInput(f, 1, x), c.w.cast(f, 0), c.P)
	f.Done()
	if c.Bias != nil {
		c.env.B.AddBias(y, c.Bias.Value)
	}
	c.x, c.out = x, y
	return y
}

func (c *Conv) Backward(dx, dy ops.Tensor, add bool) {
	b := c.env.B
	f := c.w.frame(weightSlots)
	defer f.Done()
	if dx != nil {
		b.ConvBackwardData(dx, dy, c.w.cast(f, 0), c.P, add)
	}
	dw := c.w.grad(f, 1)
	b.ConvBackwardFilter(dw, dy, c.w.castInput(f, 2, c.x), c.P)
	c.w.widen(dw)
	if c.Bias != nil {
		b.BiasBackward(c.Bias.Grad, dy)
	}
}

func (c *Conv) KeepsOutput() bool { return false }
