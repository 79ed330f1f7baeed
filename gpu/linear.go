package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// cuBLAS is column-major; our matrices are row-major. A row-major (r,c)
// matrix is the column-major (c,r) matrix with leading dimension c — its
// transpose — so each product below is computed transposed, with the
// operands swapped: (A·B)ᵀ = Bᵀ·Aᵀ.

func matrix(op, what string, t *tensor) (rows, cols int) {
	if len(t.shape) != 2 {
		panic(fmt.Sprintf("ops: %s: %s %v is not a matrix", op, what, t.shape))
	}
	return t.shape[0], t.shape[1]
}

// linearDims checks the three matrices of a linear-layer op — activations
// (N,in), weights (out,in), outputs or their gradients (N,out) — and returns
// N, in and out. The names say which argument is which in the panic message.
func linearDims(op string, names [3]string, act, weight, outp *tensor) (n, in, out int) {
	n, in = matrix(op, names[0], act)
	out, in2 := matrix(op, names[1], weight)
	n2, out2 := matrix(op, names[2], outp)
	if in != in2 || n != n2 || out != out2 {
		panic(fmt.Sprintf("ops: %s: shapes %s %v, %s %v, %s %v", op, names[0], act.shape, names[1], weight.shape, names[2], outp.shape))
	}
	return n, in, out
}

func (b *Backend) sgemm(call string, ta, tb C.dr_cublasOperation, m, n, k int, A uint64, lda int, B uint64, ldb int, beta float32, Cm uint64, ldc int) error {
	return blasCheck(call, C.dr_sgemm(b.blas, ta, tb, C.int(m), C.int(n), C.int(k), 1,
		C.ulonglong(A), C.int(lda), C.ulonglong(B), C.int(ldb), C.float(beta), C.ulonglong(Cm), C.int(ldc)))
}

// LinearForward: y (N,out) = x (N,in)·wᵀ. Column-major: yᵀ (out,N) = w·xᵀ,
// where w's storage is wᵀ (in,out) — so A = w transposed, B = x as stored.
func (b *Backend) LinearForward(y, x, w ops.Tensor) {
	ty, tx, tw := b.ten(y, "LinearForward's y"), b.ten(x, "LinearForward's x"), b.ten(w, "LinearForward's w")
	n, in, out := linearDims("LinearForward", [3]string{"x", "w", "y"}, tx, tw, ty)
	b.run(func() error {
		return b.sgemm("cublasSgemm_v2(LinearForward)", C.DR_CUBLAS_OP_T, C.DR_CUBLAS_OP_N, out, n, in, tw.ptr, in, tx.ptr, in, 0, ty.ptr, out)
	})
}

// LinearBackwardData: dx (N,in) (add?+=:=) dy (N,out)·w. Column-major:
// dxᵀ (in,N) = wᵀ (in,out, w's storage) · dyᵀ (out,N, dy's storage).
func (b *Backend) LinearBackwardData(dx, dy, w ops.Tensor, add bool) {
	tdx, tdy, tw := b.ten(dx, "LinearBackwardData's dx"), b.ten(dy, "LinearBackwardData's dy"), b.ten(w, "LinearBackwardData's w")
	n, in, out := linearDims("LinearBackwardData", [3]string{"dx", "w", "dy"}, tdx, tw, tdy)
	b.run(func() error {
		return b.sgemm("cublasSgemm_v2(LinearBackwardData)", C.DR_CUBLAS_OP_N, C.DR_CUBLAS_OP_N, in, n, out, tw.ptr, in, tdy.ptr, out, blend(add), tdx.ptr, in)
	})
}

// LinearBackwardWeight: dw (out,in) = dyᵀ·x; written. Column-major:
// dwᵀ (in,out) = xᵀ (in,N, x's storage) · dy (N,out, dy's storage transposed).
func (b *Backend) LinearBackwardWeight(dw, dy, x ops.Tensor) {
	tdw, tdy, tx := b.ten(dw, "LinearBackwardWeight's dw"), b.ten(dy, "LinearBackwardWeight's dy"), b.ten(x, "LinearBackwardWeight's x")
	n, in, out := linearDims("LinearBackwardWeight", [3]string{"x", "dw", "dy"}, tx, tdw, tdy)
	b.run(func() error {
		return b.sgemm("cublasSgemm_v2(LinearBackwardWeight)", C.DR_CUBLAS_OP_N, C.DR_CUBLAS_OP_T, in, out, n, tx.ptr, in, tdy.ptr, out, 0, tdw.ptr, in)
	})
}
