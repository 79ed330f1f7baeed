// set_branches.cu: sets the conditions of a captured step's IF nodes from
// device flags, once at the start of each launch (gpu/branch.go). Compiled
// apart from the other kernels (after common.cuh): a toolchain that cannot
// resolve cudaGraphSetConditional then costs only stochastic depth's
// capture, never the backend.
//
// cudaGraphSetConditional is CUDA's device-side setter of a conditional
// handle (CUDA Programming Guide, "Conditional Graph Nodes"; declared in
// cuda_device_runtime_api.h as taking a cudaGraphConditionalHandle, an
// unsigned long long). No CUDA header is included here, so it is declared.
// NVRTC's ptxas resolves it in a CUBIN from NVRTC 12.3 on (gpu/branch.go,
// setterNVRTC).
extern "C" __device__ void cudaGraphSetConditional(unsigned long long handle, unsigned int value);

// dr_branch is one IF node: its handle, the index of the flag deciding it,
// and whether the node runs when the flag is zero (an "otherwise" body).
// gpu/branch.go writes these, 16 bytes each, one run of them per flags
// tensor.
struct dr_branch {
	unsigned long long handle;
	unsigned int index;
	unsigned int when_zero;
};

extern "C" __global__ void dr_set_branches(const dr_branch *b, int n, const float *flags) {
	DR_GRID_STRIDE(i, n) {
		unsigned int on = flags[b[i].index] != 0.0f;
		cudaGraphSetConditional(b[i].handle, b[i].when_zero ? !on : on);
	}
}
