// Shared by every kernel file (kernels.go prepends it). No CUDA header is
// included: NVRTC and clang's CUDA mode both provide __global__, threadIdx,
// blockIdx, blockDim, gridDim, __syncthreads and the math functions used here.
#define DR_GRID_STRIDE(i, n) \
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)
