package layers

import "github.com/deepres/deepres/ops"

// ReLU is max(x, 0). In place, it overwrites its input: builders use that
// only where the input is a private buffer nobody else reads (a BN output).
type ReLU struct {
	env     *Env
	InPlace bool
	// fused: the batch norm before it applies it (Seq.pairBNReLU); Forward
	// passes its input through and Seq skips its Backward.
	fused bool
	buf   ops.Tensor // own output, largest batch (nil in place)
	y     ops.Tensor // the last output, read by Backward
}

// NewReLU returns a ReLU; inPlace as described on the type.
func NewReLU(e *Env, inPlace bool) *ReLU { return &ReLU{env: e, InPlace: inPlace} }

func (r *ReLU) Setup(in ops.Shape) ops.Shape {
	if !r.InPlace && !r.fused {
		r.buf = r.env.alloc(in)
	}
	return in
}

func (r *ReLU) Forward(x ops.Tensor) ops.Tensor {
	if r.fused {
		r.y = x
		return x
	}
	y := x
	if !r.InPlace {
		y = r.env.batchView(r.buf, x.Shape()[0])
	}
	r.env.B.ReLUForward(y, x)
	r.y = y
	return y
}

func (r *ReLU) Backward(dx, dy ops.Tensor, add bool) {
	if r.fused {
		panic("layers: Backward of a ReLU fused into its batch norm (Seq skips it)")
	}
	r.env.B.ReLUBackward(dx, dy, r.y, add)
}

func (r *ReLU) KeepsOutput() bool { return true }
