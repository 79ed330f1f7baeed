package cudasim

import "testing"

// cuBLAS's workspace under capture (testdata/simcheck_blas.c): without one
// of the user's, a captured GEMM records allocation and free nodes, which
// cuGraphAddChildGraphNode refuses; cublasSetWorkspace_v2 checks its
// pointer and removes them until cublasSetStream_v2 resets it.
func TestBlasWorkspace(t *testing.T) {
	needBuild(t)
	runExpecting(t, "blas_workspace", nil, []string{
		"the child graph has 2 memory allocation or free nodes",
		"there can be at most one executable graph",
		"cublasSgemm_v2: CUDA_ERROR_ILLEGAL_ADDRESS", "that was freed",
	})
}

// cuBLAS rounds TF32 inputs to nearest even, as documented.
func TestBlasTF32Ties(t *testing.T) {
	needBuild(t)
	run(t, "blas_tf32_ties")
}
