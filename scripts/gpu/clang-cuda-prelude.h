/*
 * clang-cuda-prelude.h: what NVRTC provides built in and clang's CUDA mode
 * with -nocudainc does not: the execution-space attributes, the thread-index
 * variables and the math functions the kernels call. Used only by
 * compile-kernels.sh, to check that gpu/kernels/ compiles without any
 * NVIDIA SDK.
 */
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __host__ __attribute__((host))

#define DR_SREG(name, reg) \
	struct dr_##name##_t { \
		__declspec(property(get = get_x)) unsigned int x; \
		__device__ unsigned int get_x() const { return __nvvm_read_ptx_sreg_##reg##_x(); } \
	}; \
	extern __device__ const dr_##name##_t name;
DR_SREG(threadIdx, tid)
DR_SREG(blockIdx, ctaid)
DR_SREG(blockDim, ntid)
DR_SREG(gridDim, nctaid)

extern "C" __device__ double exp(double);
extern "C" __device__ double log(double);
extern "C" __device__ double fabs(double);
extern "C" __device__ double sqrt(double);
