/*
 * cudasim.h: the contract between the simulator's libcuda.so.1 (the core:
 * device memory, streams, sticky errors, counters) and the other simulated
 * libraries (libcudnn.so.9, libcublas.so.13, libnvrtc.so.13), which link
 * against libcuda.so.1 and use only what is declared here.
 *
 * deepres itself never includes this file: it loads the simulated libraries
 * exactly as it loads NVIDIA's, through DEEPRES_CUDA_LIB_DIR.
 */
#ifndef CUDASIM_H
#define CUDASIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CUDASIM_API __attribute__((visibility("default")))

typedef uint64_t cudasim_devptr;               /* a CUdeviceptr: not host-addressable */
typedef struct cudasim_stream *cudasim_stream; /* what a CUstream points at; NULL is the legacy default stream */

/* CUresult values the libraries report through the core (CUDA Driver API, "Error Handling"). */
enum {
	CUDASIM_SUCCESS = 0,
	CUDASIM_ERROR_INVALID_VALUE = 1,
	CUDASIM_ERROR_OUT_OF_MEMORY = 2,
	CUDASIM_ERROR_INVALID_HANDLE = 400,
	CUDASIM_ERROR_ILLEGAL_ADDRESS = 700,
	CUDASIM_ERROR_LAUNCH_FAILED = 719,
	CUDASIM_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
	CUDASIM_ERROR_STREAM_CAPTURE_INVALIDATED = 901,
	CUDASIM_ERROR_STREAM_CAPTURE_IMPLICIT = 906,
};

/* At call time: does [p, p+bytes) lie inside one live device allocation?
 * Returns 1 if so. If not, records CUDASIM_ERROR_ILLEGAL_ADDRESS as the
 * context's sticky error with a message naming `call`, and returns 0. */
CUDASIM_API int cudasim_check(cudasim_devptr p, size_t bytes, const char *call);

/* Inside a task running on a stream (see cudasim_enqueue): the host-side
 * backing store of a device range, checked as cudasim_check does. NULL (and
 * the sticky error set) when the range is not inside one live allocation. */
CUDASIM_API void *cudasim_host(cudasim_devptr p, size_t bytes, const char *call);

/* Queue fn(arg) on stream s, after everything queued on s before it; it runs
 * later, on the simulator's stream thread. arg is one block from malloc(),
 * released with free() after fn returns. Returns CUDASIM_SUCCESS, or the
 * sticky error (nothing is queued then), or CUDASIM_ERROR_INVALID_HANDLE for
 * a stream that does not exist.
 *
 * Stream capture: when s is capturing (cuStreamBeginCapture_v2), the task is
 * recorded into the capture's graph instead, and not run. arg then belongs to
 * the graph: it is kept until the graph and every executable graph
 * instantiated from it are destroyed and their launches have run, and fn runs
 * each time a cuGraphLaunch reaches the node (when enabled, and inside a
 * conditional body only if its condition selects the body; a graph cloned
 * into several child graph nodes runs once per node) (so fn must read arg only,
 * never change or free it; it reads device memory when it runs, not when it
 * was captured). When s's capture was invalidated, or the call would make the
 * legacy stream depend on a capturing blocking stream, nothing is queued and
 * the result is CUDASIM_ERROR_STREAM_CAPTURE_INVALIDATED or _IMPLICIT (arg is
 * left to the caller, as for every error). */
CUDASIM_API int cudasim_enqueue(cudasim_stream s, const char *call, void (*fn)(void *arg), void *arg);

/* For an operation the real library cannot capture into a graph (cuDNN's
 * Find, which times algorithms with synchronisations and allocations): when
 * s is capturing, invalidates its capture and returns
 * CUDASIM_ERROR_STREAM_CAPTURE_UNSUPPORTED (a message on stderr names call);
 * 0 otherwise. */
CUDASIM_API int cudasim_capture_refuse(cudasim_stream s, const char *call);

/* 1 when s is capturing (its capture may have been invalidated), else 0:
 * for a library whose work differs under capture (cuBLAS's workspace). */
CUDASIM_API int cudasim_capturing(cudasim_stream s);

/* The context's sticky error (0 when none), and a way for a library to set it
 * from inside a task (message printed once to stderr, naming the call). */
CUDASIM_API int cudasim_sticky(void);
CUDASIM_API void cudasim_fail(int curesult, const char *call, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Adds n to a named counter of the stats file (see README). */
CUDASIM_API void cudasim_count(const char *counter, uint64_t n);

/* Every exported entry point of a simulated library (cu*, cudnn*, cublas*,
 * nvrtc*) calls this first: the "api_calls" counter, the host's calls into
 * NVIDIA's libraries; it also forgets the calling thread's declared
 * accesses (cudasim_access), which belong to one call. */
CUDASIM_API void cudasim_api_call(void);
#define CUDASIM_API_CALL() cudasim_api_call()

/* Cross-stream hazards (cuda/hazard.c): the task the calling thread queues
 * next with cudasim_enqueue, in this API call, reads (CUDASIM_READ) or
 * writes (CUDASIM_WRITE) [p, p+bytes) of device memory. cudasim_check
 * declares its range as read and written; a call that knows better narrows
 * it with cudasim_access on the same range afterwards. */
enum { CUDASIM_READ = 1, CUDASIM_WRITE = 2 };
CUDASIM_API void cudasim_access(cudasim_devptr p, size_t bytes, int mode);

/* The process's seed for simulated non-determinism (CUDASIM_SEED, else a
 * fixed default), so a failing order can be reproduced. */
CUDASIM_API uint64_t cudasim_seed(void);

/* 1 when CUDASIM_STRICT is unset or not "0": the checks a GPU would not make. */
CUDASIM_API int cudasim_strict(void);

#ifdef __cplusplus
}
#endif
#endif
