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
// stride-th pixel, the new channels zero, appended after the old ones
// (fb.resnet.torch models/resnet.lua and preresnet.lua, shortcutType 'A':
// SpatialAveragePooling(1, 1, stride, stride), then Concat with
// MulConstant(0)). The stochastic-depth code averages instead: PoolPadA.
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

// PoolPadA is option A as Stochastic_Depth ResidualDrop.lua builds it:
// stride×stride average pooling with stride stride
// (nn.SpatialAveragePooling(stride, stride, stride, stride)), then the new
// channels zero, appended after the old ones (nn.Padding(1, nOut − nIn, 3)).
// It runs as one fixed convolution, kernel stride×stride and stride stride,
// whose weight is 1/stride² from input channel c to output channel c and 0
// elsewhere: the zero channels come out of the same kernel, and no backend
// needs a pooling op of its own. The weight is a constant, not a parameter.
type PoolPadA struct {
	env    *Env
	Out    int // output channels
	Stride int
	w      ops.Tensor
	p      ops.ConvParams
	buf    ops.Tensor
}

// NewPoolPadA returns average-pooling option A to out channels.
func NewPoolPadA(e *Env, out, stride int) *PoolPadA {
	return &PoolPadA{env: e, Out: out, Stride: stride, p: ops.Conv(stride, 0)}
}

func (p *PoolPadA) Setup(in ops.Shape) ops.Shape {
	n, c, h, w := in.NCHW()
	s := p.Stride
	if p.Out < c || s < 1 || h%s != 0 || w%s != 0 {
		panic("layers: option-A shortcut needs out >= in channels and sizes divisible by the stride")
	}
	wShape := ops.Shape{p.Out, c, s, s}
	// A constant, not a parameter: stored like the activations it is
	// convolved with (type and layout), as a conv reads one type and one
	// layout on the GPU (cuDNN's convolutions take x, w and y of one data
	// type). 1/(s·s) is exact in every type for a power-of-two stride.
	p.w = p.env.AllocAct(wShape...)
	if p.w != nil {
		host := make([]float32, wShape.Len())
		for ch := 0; ch < c; ch++ {
			k := (ch*c + ch) * s * s // weight (ch, ch, ·, ·)
			for i := 0; i < s*s; i++ {
				host[k+i] = 1 / float32(s*s)
			}
		}
		p.env.B.CopyIn(p.w, host)
	}
	out := ops.Shape{n, p.Out, h / s, w / s}
	p.buf = p.env.alloc(out)
	return out
}

func (p *PoolPadA) Forward(x ops.Tensor) ops.Tensor {
	y := p.env.batchView(p.buf, x.Shape()[0])
	p.env.B.ConvForward(y, x, p.w, p.p)
	return y
}

func (p *PoolPadA) Backward(dx, dy ops.Tensor, add bool) {
	p.env.B.ConvBackwardData(dx, dy, p.w, p.p, add)
}
func (*PoolPadA) KeepsOutput() bool { return false }

// beta turns an add flag into the beta of AddTensor and Mul.
func beta(add bool) float32 {
	if add {
		return 1
	}
	return 0
}
