package gpu

import (
	"github.com/deepres/deepres/cudnn"
	"github.com/deepres/deepres/ops"
)

// ReLUForward: y = max(x, 0) through cuDNN (which allows y == x).
func (b *Backend) ReLUForward(y, x ops.Tensor) {
	ty, tx := b.ten(y, "ReLUForward's y"), b.ten(x, "ReLUForward's x")
	sameLen("ReLUForward", ty, tx)
	b.actForward(cudnn.ReLU, ty, tx)
}

// ReLUBackward: dx (add?+=:=) dy where y > 0, through cuDNN with y standing
// in for x (exact: x > 0 exactly where y > 0).
func (b *Backend) ReLUBackward(dx, dy, y ops.Tensor, add bool) {
	tdx, tdy, ty := b.ten(dx, "ReLUBackward's dx"), b.ten(dy, "ReLUBackward's dy"), b.ten(y, "ReLUBackward's y")
	sameLen("ReLUBackward", tdx, tdy, ty)
	b.run(func() error {
		return b.elementWise(1, add, func(ts []*tensor) error {
			return b.reluBackward(ts[0], ts[1], ts[2], add)
		}, tdx, tdy, ty)
	})
}

// reluBackward is ReLUBackward on tensors of one storage order (inside
// Backend.run).
func (b *Backend) reluBackward(tdx, tdy, ty *tensor, add bool) error {
	n := tdx.len()
	if tdx.dtype == tdy.dtype && tdx.dtype == ty.dtype {
		return b.dnn.ActivationBackward(cudnn.ReLU, tdx.ptr, tdy.ptr, ty.ptr, ty.ptr, n, dnnType(tdx.dtype), blend(add))
	}
	// A mix: cuDNN takes one type for all (mixedActivation).
	pdy, err := b.asFloat32(tdy, 0)
	if err != nil {
		return err
	}
	py, err := b.asFloat32(ty, 1)
	if err != nil {
		return err
	}
	pdx, finish, err := b.float32Out(tdx, add, 2)
	if err != nil {
		return err
	}
	if err := b.dnn.ActivationBackward(cudnn.ReLU, pdx, pdy, py, py, n, cudnn.Float, blend(add)); err != nil {
		return err
	}
	return finish()
}

// SigmoidForward: y = 1/(1+exp(−x)) through cuDNN.
func (b *Backend) SigmoidForward(y, x ops.Tensor) {
	ty, tx := b.ten(y, "SigmoidForward's y"), b.ten(x, "SigmoidForward's x")
	sameLen("SigmoidForward", ty, tx)
	b.actForward(cudnn.Sigmoid, ty, tx)
}

// actForward: y = act(x) through cuDNN, x and y of any storage types.
//
// mixedActivation: cuDNN's activations take x and y (and dy, dx) of one
// type ("The datatype of the input tensor and output tensors differs" is
// CUDNN_STATUS_BAD_PARAM, cuDNN API reference, cudnnActivationForward and
// cudnnActivationBackward), while the ops contract allows any mix, "inputs
// widened when read, outputs rounded to their own type when written". So a
// mix widens each half input into float32 scratch (exact), runs cuDNN in
// float and rounds the float32 result once into the output: the contract's
// arithmetic, at the cost of extra passes that only a mix pays (the layers
// keep one type).
//
// Tensors of two storage orders (layouts) run on NCHW stand-ins
// (elementWise): cuDNN sees the tensors as (n,1,1,1), element i of each
// the same logical element.
func (b *Backend) actForward(a cudnn.Activation, y, x *tensor) {
	b.run(func() error {
		return b.elementWise(1, false, func(ts []*tensor) error { return b.actForwardOrdered(a, ts[0], ts[1]) }, y, x)
	})
}

// actForwardOrdered is actForward on tensors of one storage order.
func (b *Backend) actForwardOrdered(a cudnn.Activation, y, x *tensor) error {
	n := y.len()
	if x.dtype == y.dtype {
		return b.dnn.ActivationForward(a, y.ptr, x.ptr, n, dnnType(y.dtype), 0)
	}
	px, err := b.asFloat32(x, 0)
	if err != nil {
		return err
	}
	py, finish, err := b.float32Out(y, false, 1)
	if err != nil {
		return err
	}
	if err := b.dnn.ActivationForward(a, py, px, n, cudnn.Float, 0); err != nil {
		return err
	}
	return finish()
}

// typeSlots is the first conversion slot (Backend.slot) of the type
// conversions below, above those relaid takes for layouts within the same
// op (one per tensor argument).
const typeSlots = 16

// asFloat32 is t's contents as float32 device memory: t's own when t is
// float32, else conversion slot typeSlots+k, t widened into it (dr_cast;
// exact). Slots are held for the backend's life, so a captured step that
// widens neither allocates during the capture nor leaves its graph
// writing into a block the allocator hands out later. Called inside
// Backend.run; k distinguishes an op's several conversions.
func (b *Backend) asFloat32(t *tensor, k int) (uint64, error) {
	if t.dtype == ops.Float32 {
		return t.ptr, nil
	}
	n := t.len()
	s, err := b.slot(typeSlots+k, int64(n)*4)
	if err != nil {
		return 0, err
	}
	return s, b.launch("dr_cast", n, s, i32(int(ops.Float32)), t.ptr, t.code(), i32(n))
}

// float32Out is where a float32 computation of output t writes: t itself
// when t is float32, else conversion slot typeSlots+k (holding t widened
// when keep, for an op that adds into t), which finish rounds into t.
func (b *Backend) float32Out(t *tensor, keep bool, k int) (ptr uint64, finish func() error, err error) {
	if t.dtype == ops.Float32 {
		return t.ptr, func() error { return nil }, nil
	}
	n := t.len()
	var s uint64
	if keep {
		s, err = b.asFloat32(t, k)
	} else {
		s, err = b.slot(typeSlots+k, int64(n)*4)
	}
	if err != nil {
		return 0, nil, err
	}
	return s, func() error {
		return b.launch("dr_cast", n, t.ptr, t.code(), s, i32(int(ops.Float32)), i32(n))
	}, nil
}

// SigmoidBackward: dx (add?+=:=) dy·y·(1−y), by our kernel: cuDNN's
// backward also wants the forward input x, which the contract does not keep.
func (b *Backend) SigmoidBackward(dx, dy, y ops.Tensor, add bool) {
	tdx, tdy, ty := b.ten(dx, "SigmoidBackward's dx"), b.ten(dy, "SigmoidBackward's dy"), b.ten(y, "SigmoidBackward's y")
	sameLen("SigmoidBackward", tdx, tdy, ty)
	n := tdx.len()
	b.run(func() error {
		return b.elementWise(1, add, func(ts []*tensor) error {
			tdx, tdy, ty := ts[0], ts[1], ts[2]
			return b.launch("dr_sigmoid_backward", n, tdx.ptr, tdx.code(), tdy.ptr, tdy.code(), ty.ptr, ty.code(),
				flag(add), i32(n))
		}, tdx, tdy, ty)
	})
}

func blend(add bool) float32 {
	if add {
		return 1
	}
	return 0
}
