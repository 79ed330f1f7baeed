/*
 * simmodule.h: what the simulator's NVRTC puts in a compiled module and the
 * simulator's cuModuleLoadData reads back (private to internal/cudasim).
 *
 * nvrtcGetCUBIN returns CUDASIM_IMAGE_MAGIC followed by a host shared object
 * (built by g++ from the kernel source, a prelude and generated launch
 * trampolines); cuModuleLoadData dlopens that object and reads the table
 * below. A real CUBIN (an ELF for the GPU) lacks the magic and is refused
 * with CUDA_ERROR_INVALID_IMAGE.
 */
#ifndef CUDASIM_SIMMODULE_H
#define CUDASIM_SIMMODULE_H

#define CUDASIM_IMAGE_MAGIC "CUDASIM-MODULE-1"
#define CUDASIM_IMAGE_MAGIC_LEN 16

/* nvrtcGetPTX returns the same image as NUL-terminated text: PTX's header
 * lines ("// Cuda compilation tools, release M.m", ".target sm_XY"), then
 * this marker and the image in hex. cuModuleLoadData loads it as a driver
 * JIT-compiles PTX, refusing PTX from a release newer than the driver
 * (CUDA_ERROR_UNSUPPORTED_PTX_VERSION) or for a target newer than the
 * device (CUDA_ERROR_INVALID_PTX). */
#define CUDASIM_PTX_MARKER "\n// cudasim-image "

/* CUDA's built-in index variables (threadIdx, blockIdx, blockDim, gridDim)
 * of the thread being simulated. The module keeps one per OS thread; the
 * core writes it before it runs (or resumes) each simulated thread. */
struct cudasim_index {
	unsigned int thread[3], block[3], block_dim[3], grid_dim[3];
};

/* One extern "C" __global__ function of the module. */
struct cudasim_kernel {
	const char *name;
	int nparams;
	const unsigned int *sizes;   /* sizeof each parameter */
	const unsigned char *is_ptr; /* 1 for a pointer parameter (a device address to translate) */
	int barrier;                 /* calls __syncthreads (directly or through a __device__ function) */
	/* Runs one simulated thread: args[i] points at parameter i's value,
	 * pointers already translated to host addresses. */
	void (*entry)(void *const *args);
};

/* The symbols a module exports. */
typedef const struct cudasim_kernel *(*cudasim_kernels_fn)(int *n);
typedef struct cudasim_index *(*cudasim_index_fn)(void); /* this OS thread's index block */
typedef void (*cudasim_bind_fn)(void (*syncthreads)(void));
/* cudaGraphSetConditional(handle, value) of the module's kernels calls this. */
typedef void (*cudasim_bind_graph_fn)(void (*set_conditional)(unsigned long long, unsigned int));
#define CUDASIM_SYM_KERNELS "cudasim_module_kernels"
#define CUDASIM_SYM_INDEX "cudasim_module_index"
#define CUDASIM_SYM_BIND "cudasim_module_bind"
#define CUDASIM_SYM_BIND_GRAPH "cudasim_module_bind_graph"

#endif
