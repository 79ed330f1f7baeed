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

// blasType is cuBLAS's name (cudaDataType, library_types.h) of a storage type.
func blasType(d ops.DType) C.dr_cudaDataType {
	switch d {
	case ops.BFloat16:
		return C.DR_CUDA_R_16BF
	case ops.Float16:
		return C.DR_CUDA_R_16F
	}
	return C.DR_CUDA_R_32F
}

// gemmTypes checks the storage types of C = A·B: float32 for all three
// (cublasSgemm), or A and B of one half type with C of that type or
// float32 — the half rows of cublasGemmEx's table of supported
// combinations for CUBLAS_COMPUTE_32F with float scalars (cuBLAS Library
// User Guide, cublasGemmEx, docs.nvidia.com/cuda/cublas/#cublasgemmex:
// Atype = Btype CUDA_R_16F or CUDA_R_16BF, Ctype the same or CUDA_R_32F;
// float inputs only with a float C). The names say which argument is which.
func gemmTypes(op string, names [3]string, a, bm, c *tensor) {
	ok := a.dtype == bm.dtype && (c.dtype == a.dtype || c.dtype == ops.Float32)
	if !ok {
		panic(fmt.Sprintf("ops: %s: storage types %s %v, %s %v, %s %v: cuBLAS multiplies two matrices of one type into that type or float32",
			op, names[0], a.dtype, names[1], bm.dtype, names[2], c.dtype))
	}
}

// gemm is C (m,n) = op(A)·op(B) + beta·C in column-major terms, computed in
// float: cublasSgemm for float32 data (as before half storage existed), and
// cublasGemmEx with CUBLAS_COMPUTE_32F and float alpha and beta otherwise
// (the types gemmTypes admits), so half products accumulate in float as
// autocast's matmuls do.
func (b *Backend) gemm(call string, ta, tb C.dr_cublasOperation, m, n, k int, A *tensor, lda int, B *tensor, ldb int, beta float32, Cm *tensor, ldc int) error {
	if A.dtype == ops.Float32 && B.dtype == ops.Float32 && Cm.dtype == ops.Float32 {
		return blasCheck("cublasSgemm_v2("+call+")", C.dr_sgemm(b.blas, ta, tb, C.int(m), C.int(n), C.int(k), 1,
			C.ulonglong(A.ptr), C.int(lda), C.ulonglong(B.ptr), C.int(ldb), C.float(beta), C.ulonglong(Cm.ptr), C.int(ldc)))
	}
	return blasCheck("cublasGemmEx("+call+")", C.dr_gemmEx(b.blas, ta, tb, C.int(m), C.int(n), C.int(k), 1,
		C.ulonglong(A.ptr), blasType(A.dtype), C.int(lda), C.ulonglong(B.ptr), blasType(B.dtype), C.int(ldb),
		C.float(beta), C.ulonglong(Cm.ptr), blasType(Cm.dtype), C.int(ldc)))
}

// LinearForward: y (N,out) = x (N,in)·wᵀ. Column-major: yᵀ (out,N) = w·xᵀ,
// where w's storage is wᵀ (in,out) — so A = w transposed, B = x as stored.
// In half precision x and w are half and y the float32 logits (plan D1).
func (b *Backend) LinearForward(y, x, w ops.Tensor) {
	ty, tx, tw := b.ten(y, "LinearForward's y"), b.ten(x, "LinearForward's x"), b.ten(w, "LinearForward's w")
	n, in, out := linearDims("LinearForward", [3]string{"x", "w", "y"}, tx, tw, ty)
	gemmTypes("LinearForward", [3]string{"w", "x", "y"}, tw, tx, ty)
	b.run(func() error {
		return b.gemm("LinearForward", C.DR_CUBLAS_OP_T, C.DR_CUBLAS_OP_N, out, n, in, tw, in, tx, in, 0, ty, out)
	})
}

// LinearBackwardData: dx (N,in) (add?+=:=) dy (N,out)·w. Column-major:
// dxᵀ (in,N) = wᵀ (in,out, w's storage) · dyᵀ (out,N, dy's storage).
func (b *Backend) LinearBackwardData(dx, dy, w ops.Tensor, add bool) {
	tdx, tdy, tw := b.ten(dx, "LinearBackwardData's dx"), b.ten(dy, "LinearBackwardData's dy"), b.ten(w, "LinearBackwardData's w")
	n, in, out := linearDims("LinearBackwardData", [3]string{"dx", "w", "dy"}, tdx, tw, tdy)
	gemmTypes("LinearBackwardData", [3]string{"w", "dy", "dx"}, tw, tdy, tdx)
	b.run(func() error {
		return b.gemm("LinearBackwardData", C.DR_CUBLAS_OP_N, C.DR_CUBLAS_OP_N, in, n, out, tw, in, tdy, out, blend(add), tdx, in)
	})
}

// LinearBackwardWeight: dw (out,in) = dyᵀ·x; written. Column-major:
// dwᵀ (in,out) = xᵀ (in,N, x's storage) · dy (N,out, dy's storage transposed).
func (b *Backend) LinearBackwardWeight(dw, dy, x ops.Tensor) {
	tdw, tdy, tx := b.ten(dw, "LinearBackwardWeight's dw"), b.ten(dy, "LinearBackwardWeight's dy"), b.ten(x, "LinearBackwardWeight's x")
	n, in, out := linearDims("LinearBackwardWeight", [3]string{"x", "dw", "dy"}, tx, tdw, tdy)
	gemmTypes("LinearBackwardWeight", [3]string{"x", "dy", "dw"}, tx, tdy, tdw)
	b.run(func() error {
		return b.gemm("LinearBackwardWeight", C.DR_CUBLAS_OP_N, C.DR_CUBLAS_OP_T, in, out, n, tx, in, tdy, out, 0, tdw, in)
	})
}
