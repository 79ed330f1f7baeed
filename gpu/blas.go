package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import "fmt"

// initBLAS makes the cuBLAS handle on the backend's stream, with its own
// workspace and the math mode of Options.Math. It runs on the worker.
func (b *Backend) initBLAS() error {
	if err := blasCheck("cublasCreate_v2", C.dr_cublasCreate(&b.blas)); err != nil {
		return err
	}
	if err := blasCheck("cublasSetStream_v2", C.dr_cublasSetStream(b.blas, b.stream)); err != nil {
		return err
	}
	// After cublasSetStream_v2, which "unconditionally resets the cuBLAS
	// library workspace back to the default workspace pool" (cuBLAS
	// Library User Guide, cublasSetWorkspace).
	n := blasWorkspaceBytes(b.info.ComputeMajor)
	p, err := b.mem.getReserved(n)
	if err != nil {
		return fmt.Errorf("cuBLAS workspace: %w", err)
	}
	if err := blasCheck("cublasSetWorkspace_v2", C.dr_cublasSetWorkspace(b.blas, C.ulonglong(p), C.size_t(n))); err != nil {
		return err
	}
	return blasCheck("cublasSetMathMode", C.dr_cublasSetMathMode(b.blas, blasMath(b.opts.Math)))
}

// blasWorkspaceBytes is the workspace deepres gives cuBLAS: the size the
// cuBLAS Library User Guide (cublasSetWorkspace, CUDA 13) recommends, "based
// on the cuBLAS default workspace pool size which is GPU architecture
// dependent": 32 MiB for Hopper (sm90) and Blackwell (sm10x, sm12x), 4 MiB
// for every other architecture.
//
// Why deepres sets one at all: without it, a cuBLAS call captured into a
// CUDA graph takes its workspace from the default pool in stream order,
// which capture records as memory allocation and free nodes (PyTorch met
// this, pytorch#83461, and sets a workspace per handle and stream), and
// cuda.h's cuGraphAddChildGraphNode says "If childGraph contains allocation
// nodes, free nodes, or conditional nodes, this call will return an
// error": every captured piece of a stochastic-depth step is a child graph
// (branch.go), so its capture would fail on a GPU.
func blasWorkspaceBytes(computeMajor int) int64 {
	switch computeMajor {
	case 9, 10, 12:
		return 32 << 20
	}
	return 4 << 20
}

// blasMath is the cuBLAS math mode of m. TF32 asks for
// CUBLAS_TF32_TENSOR_OP_MATH: "Enable acceleration of single-precision
// routines using TF32 tensor cores". FP32 keeps CUBLAS_DEFAULT_MATH, which
// "uses compute and intermediate storage precisions with at least the same
// number of mantissa and exponent bits as requested" (cuBLAS Library User
// Guide, cublasMath_t): TF32's 10-bit mantissa is fewer than float32's 23, so
// an FP32 GEMM (cublasSgemm, CUBLAS_COMPUTE_32F) never rounds to TF32 in it;
// TF32 needs CUBLAS_TF32_TENSOR_OP_MATH or CUBLAS_COMPUTE_32F_FAST_TF32.
// CUBLAS_PEDANTIC_MATH, used before, "is primarily intended for numerical
// robustness studies, testing, and debugging. This mode might not be as
// performant as the other modes" — strict FP32 does not need it.
func blasMath(m MathMode) C.dr_cublasMath {
	if m == FP32 {
		return C.DR_CUBLAS_DEFAULT_MATH
	}
	return C.DR_CUBLAS_TF32_TENSOR_OP_MATH
}
