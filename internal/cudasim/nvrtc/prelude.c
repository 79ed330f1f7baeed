/*
 * prelude.c: the header every program the simulated NVRTC compiles starts
 * with. It gives host C++ the CUDA built-ins the kernels use (CUDA C++
 * Programming Guide: "Built-in Variables", "Synchronization Functions",
 * "Atomic Functions", "Mathematical Functions"), and the entry points the
 * simulated cuModuleLoadData looks for (internal/cudasim/simmodule.h: the
 * index block below must keep that header's layout).
 *
 * cudaGraphSetConditional (a device function of the CUDA runtime, declared
 * by cuda_device_runtime_api.h with the handle as cudaGraphConditionalHandle,
 * an unsigned long long) is defined here with C linkage and those plain
 * types, so that a program may declare it itself as
 * extern "C" __device__ void cudaGraphSetConditional(unsigned long long, unsigned int);
 * it calls into the simulated driver through a pointer the module's loader
 * fills in (cudasim_module_bind_graph), as __syncthreads does.
 *
 * __shared__ is `static __thread`: every thread of a block runs on the same
 * stream thread (as a fiber), so a function-static, thread-local variable
 * is one copy per block as it runs, which is what shared memory is. The
 * blocks of a grid run one after another, so atomics need no locking.
 */
#include "nvrtc.h"

const char cs_prelude[] =
	"#include <math.h>\n"
	"#include <stddef.h>\n"
	"#include <stdint.h>\n"
	"#include <algorithm>\n"
	"#include <type_traits>\n"
	"#define __global__\n"
	"#define __device__\n"
	"#define __host__\n"
	"#define __forceinline__ inline __attribute__((always_inline))\n"
	"#define __noinline__ __attribute__((noinline))\n"
	"#define __shared__ static __thread\n"
	"#define __constant__ static\n"
	"#define __restrict__ __restrict\n"
	"#define __launch_bounds__(...)\n"
	"struct uint3 { unsigned int x, y, z; };\n"
	"struct dim3 { unsigned int x, y, z; };\n"
	"struct cudasim_index_block { uint3 threadIdx, blockIdx; dim3 blockDim, gridDim; };\n"
	"static __thread cudasim_index_block cudasim_idx;\n"
	"#define threadIdx (cudasim_idx.threadIdx)\n"
	"#define blockIdx (cudasim_idx.blockIdx)\n"
	"#define blockDim (cudasim_idx.blockDim)\n"
	"#define gridDim (cudasim_idx.gridDim)\n"
	"static const int warpSize = 32;\n"
	"static void (*cudasim_barrier)(void);\n"
	"static inline void __syncthreads(void) { cudasim_barrier(); }\n"
	"static void (*cudasim_set_conditional)(unsigned long long, unsigned int);\n"
	"extern \"C\" __attribute__((visibility(\"hidden\"))) void cudaGraphSetConditional(unsigned long long handle,\n"
	"\tunsigned int value) { cudasim_set_conditional(handle, value); }\n"
	"static inline void __threadfence(void) {}\n"
	"static inline void __threadfence_block(void) {}\n"
	"template <class T> static inline T atomicAdd(T *p, T v) { T o = *p; *p = o + v; return o; }\n"
	"template <class T> static inline T atomicSub(T *p, T v) { T o = *p; *p = o - v; return o; }\n"
	"template <class T> static inline T atomicExch(T *p, T v) { T o = *p; *p = v; return o; }\n"
	"template <class T> static inline T atomicMax(T *p, T v) { T o = *p; *p = o > v ? o : v; return o; }\n"
	"template <class T> static inline T atomicMin(T *p, T v) { T o = *p; *p = o < v ? o : v; return o; }\n"
	"template <class T> static inline T atomicCAS(T *p, T cmp, T v) { T o = *p; if (o == cmp) *p = v; return o; }\n"
	"template <class T> static inline T __ldg(const T *p) { return *p; }\n"
	"using std::min;\n"
	"using std::max;\n"
	"static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }\n"
	"static inline double rsqrt(double x) { return 1.0 / sqrt(x); }\n"
	/* (__expf and __logf: glibc's math.h declares them.) */
	"static inline float __fdividef(float a, float b) { return a / b; }\n"
	"static inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }\n"
	"static inline float __int_as_float(int i) { float f; __builtin_memcpy(&f, &i, 4); return f; }\n"
	"static inline int __float_as_int(float f) { int i; __builtin_memcpy(&i, &f, 4); return i; }\n"
	"extern \"C\" __attribute__((visibility(\"default\"))) void *cudasim_module_index(void) { return &cudasim_idx; }\n"
	"extern \"C\" __attribute__((visibility(\"default\"))) void cudasim_module_bind(void (*b)(void)) { cudasim_barrier = b; }\n"
	"extern \"C\" __attribute__((visibility(\"default\"))) void cudasim_module_bind_graph(void (*f)(unsigned long long,\n"
	"\tunsigned int)) { cudasim_set_conditional = f; }\n"
	"struct cudasim_kernel { const char *name; int nparams; const unsigned int *sizes;\n"
	"\tconst unsigned char *is_ptr; int barrier; void (*entry)(void *const *args); };\n";
