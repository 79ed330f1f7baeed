package gpu

import "github.com/deepres/deepres/cudnn"

import "github.com/deepres/deepres/ops"

// ReLUForward: y = max(x, 0) through cuDNN (which allows y == x).
func (b *Backend) ReLUForward(y, x ops.Tensor) {
	ty, tx := b.ten(y, "ReLUForward's y"), b.ten(x, "ReLUForward's x")
	sameLen("ReLUForward", ty, tx)
	b.run(func() error { return b.dnn.ActivationForward(cudnn.ReLU, ty.ptr, tx.ptr, ty.len(), 0) })
}

// ReLUBackward: dx (add?+=:=) dy where y > 0, through cuDNN with y standing
// in for x (exact: x > 0 exactly where y > 0).
func (b *Backend) ReLUBackward(dx, dy, y ops.Tensor, add bool) {
	tdx, tdy, ty := b.ten(dx, "ReLUBackward's dx"), b.ten(dy, "ReLUBackward's dy"), b.ten(y, "ReLUBackward's y")
	sameLen("ReLUBackward", tdx, tdy, ty)
	b.run(func() error {
		return b.dnn.ActivationBackward(cudnn.ReLU, tdx.ptr, tdy.ptr, ty.ptr, ty.ptr, tdx.len(), blend(add))
	})
}

// SigmoidForward: y = 1/(1+exp(−x)) through cuDNN.
func (b *Backend) SigmoidForward(y, x ops.Tensor) {
	ty, tx := b.ten(y, "SigmoidForward's y"), b.ten(x, "SigmoidForward's x")
	sameLen("SigmoidForward", ty, tx)
	b.run(func() error { return b.dnn.ActivationForward(cudnn.Sigmoid, ty.ptr, tx.ptr, ty.len(), 0) })
}

// SigmoidBackward: dx (add?+=:=) dy·y·(1−y), by our kernel: cuDNN's
// backward also wants the forward input x, which the contract does not keep.
func (b *Backend) SigmoidBackward(dx, dy, y ops.Tensor, add bool) {
	tdx, tdy, ty := b.ten(dx, "SigmoidBackward's dx"), b.ten(dy, "SigmoidBackward's dy"), b.ten(y, "SigmoidBackward's y")
	sameLen("SigmoidBackward", tdx, tdy, ty)
	n := tdx.len()
	b.run(func() error {
		return b.launch("dr_sigmoid_backward", n, tdx.ptr, tdx.code(), tdy.ptr, tdy.code(), ty.ptr, ty.code(),
			flag(add), i32(n))
	})
}

func blend(add bool) float32 {
	if add {
		return 1
	}
	return 0
}
