/*
 * cublaslt.c: the simulated libcublasLt.so.13. The real libcublas.so.13
 * depends on libcublasLt.so.13 (deepres preloads it from the same folder,
 * internal/dl/libraries.go); deepres calls nothing in it, so the simulator
 * provides only the version queries (cuBLASLt API, cublasLtGetVersion:
 * "returns the version number of cuBLASLt library", 10000*major + 100*minor
 * + patch).
 */
#include <stddef.h>
#include "cudasim.h"

CUDASIM_API size_t cublasLtGetVersion(void) { CUDASIM_API_CALL(); return 130000; }

/* cublasLtGetCudartVersion: "the version number of the CUDA Runtime library
 * [it was built against]", 1000*major + 10*minor. */
CUDASIM_API size_t cublasLtGetCudartVersion(void) { CUDASIM_API_CALL(); return 13000; }
