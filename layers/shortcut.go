package layers

import "github.com/deepres/deepres/ops"

// Identity is the identity shortcut: no kernel forward; backward adds dy.
type Identity struct{ env *Env }

// NewIdentity returns the identity shortcut.
func NewIdentity(e *Env) *Identity { return &Identity{env: e} }

func (*Identity) Setup(in ops.Shape) ops.Shape           { return in }
func (*Identity) Forward(x ops.Tensor) ops.Tensor        { return x }
func (*Identity) KeepsOutput() bool                      { return false }
func (i *Identity) Backward(dx, dy ops.Tensor, add bool) { i.env.B.AddTensor(dx, dy, 1, beta(add)) }

// PadA is He et al.'s option-A shortcut where the shape changes: every
// stride-th pixel, the new channels zero (appended after the old ones, as in
// fb.resnet.torch, which the stochastic-depth code builds on).
type PadA struct {
	env    *Env
	Out    int // output channels
	Stride int
	buf    ops.Tensor
}

// NewPadA returns option A to out channels with the given stride.
func NewPadA(e *Env, out, stride int) *PadA { return &PadA{env: e, Out: out, Stride: stride} }

func (p *PadA) Setup(in ops.Shape) ops.Shape {
	n, c, h, w := in.NCHW()
	if p.Out < c || h%p.Stride != 0 || w%p.Stride != 0 {
		panic("layers: option-A shortcut needs out >= in channels and sizes divisible by the stride")
	}
	out := ops.Shape{n, p.Out, h / p.Stride, w / p.Stride}
	p.buf = p.env.alloc(out)
	return out
}

func (p *PadA) Forward(x ops.Tensor) ops.Tensor {
	y := p.env.batchView(p.buf, x.Shape()[0])
	p.env.B.ShortcutAForward(y, x)
	return y
}

func (p *PadA) Backward(dx, dy ops.Tensor, add bool) { p.env.B.ShortcutABackward(dx, dy, add) }
func (*PadA) KeepsOutput() bool                      { return false }

// beta turns an add flag into the beta of AddTensor and Mul.
func beta(add bool) float32 {
	if add {
		return 1
	}
	return 0
}
