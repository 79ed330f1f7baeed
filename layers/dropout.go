package layers

import "github.com/deepres/deepres/ops"

// Dropout zeroes each element with probability P while training and scales
// the survivors by 1/(1−P) ("inverted" dropout, so evaluation is the
// identity). Masks come from ops.DropoutMask, identical on every backend.
type Dropout struct {
	env       *Env
	P         float32
	buf, mask ops.Tensor
	m         ops.Tensor // the mask of the last training Forward
}

// NewDropout returns dropout with drop probability p in [0, 1).
func NewDropout(e *Env, p float32) *Dropout {
	if p < 0 || p >= 1 {
		panic("layers: dropout probability must be in [0, 1)")
	}
	return &Dropout{env: e, P: p}
}

func (d *Dropout) Setup(in ops.Shape) ops.Shape {
	d.buf = d.env.alloc(in)
	d.mask = d.env.alloc(in)
	return in
}

func (d *Dropout) Forward(x ops.Tensor) ops.Tensor {
	e := d.env
	if !e.Train || d.P == 0 {
		d.m = nil
		return x
	}
	n := x.Shape()[0]
	y := e.batchView(d.buf, n)
	d.m = e.batchView(d.mask, n)
	if seed := e.nextDropoutSeed(); e.DropoutBase != nil {
		e.B.DropoutMaskFrom(d.m, d.P, seed-e.DropoutStepBase, e.DropoutBase)
	} else {
		e.B.DropoutMask(d.m, d.P, seed)
	}
	e.B.Mul(y, x, d.m, 0)
	return y
}

func (d *Dropout) Backward(dx, dy ops.Tensor, add bool) {
	beta := float32(0)
	if add {
		beta = 1
	}
	if d.m == nil {
		d.env.B.AddTensor(dx, dy, 1, beta)
		return
	}
	d.env.B.Mul(dx, dy, d.m, beta)
}

func (d *Dropout) KeepsOutput() bool { return false }
