/*
 * core.h: private declarations shared by the files of the simulated
 * libcuda.so.1. Types mirror cuda.h's (CUDA Driver API reference, "Data
 * types used by CUDA driver"); numeric values are NVIDIA's.
 */
#ifndef CUDASIM_CORE_H
#define CUDASIM_CORE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "cudasim.h"

typedef unsigned int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct cs_ctx *CUcontext;
typedef struct cudasim_stream *CUstream;
typedef struct cs_module *CUmodule;
typedef struct cs_function *CUfunction;
typedef struct cs_graph *CUgraph;
typedef struct cs_node *CUgraphNode;
typedef struct cs_exec *CUgraphExec;

/* cuda.h, enum CUstreamCaptureStatus_enum */
enum {
	CU_STREAM_CAPTURE_STATUS_NONE = 0,
	CU_STREAM_CAPTURE_STATUS_ACTIVE = 1,
	CU_STREAM_CAPTURE_STATUS_INVALIDATED = 2,
};

/* cuda.h, enum cudaError_enum */
enum {
	CUDA_SUCCESS = 0,
	CUDA_ERROR_INVALID_VALUE = 1,
	CUDA_ERROR_OUT_OF_MEMORY = 2,
	CUDA_ERROR_NOT_INITIALIZED = 3,
	CUDA_ERROR_DEVICE_UNAVAILABLE = 46,
	CUDA_ERROR_NO_DEVICE = 100,
	CUDA_ERROR_INVALID_DEVICE = 101,
	CUDA_ERROR_INVALID_IMAGE = 200,
	CUDA_ERROR_INVALID_CONTEXT = 201,
	CUDA_ERROR_INVALID_PTX = 218,
	CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
	CUDA_ERROR_INVALID_HANDLE = 400,
	CUDA_ERROR_ILLEGAL_STATE = 401,
	CUDA_ERROR_NOT_FOUND = 500,
	CUDA_ERROR_ILLEGAL_ADDRESS = 700,
	CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
	CUDA_ERROR_LAUNCH_FAILED = 719,
	CUDA_ERROR_NOT_SUPPORTED = 801,
	CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
	CUDA_ERROR_STREAM_CAPTURE_INVALIDATED = 901,
	CUDA_ERROR_STREAM_CAPTURE_IMPLICIT = 906,
	CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD = 908,
	CUDA_ERROR_UNKNOWN = 999,
};

#define CS_API CUDASIM_API

/* errors.c */
void cs_note(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* a strict-mode rejection, to stderr */
const char *cs_sticky_message(void);
void cs_clear_sticky(void);

/* device.c: the state every context-bound call checks first. Returns
 * CUDA_SUCCESS, CUDA_ERROR_NOT_INITIALIZED, CUDA_ERROR_INVALID_CONTEXT (no
 * live context current on this thread) or the sticky error. */
CUresult cs_enter(void);
CUresult cs_enter_nosticky(void);
int cs_initialized(void);
int cs_compute_capability(void); /* 10*major + minor: 90, or CUDASIM_CC */
int cs_driver_version(void);     /* cuDriverGetVersion's 1000*major + 10*minor */
CUcontext cs_current_ctx(void); /* the context current on this thread, or NULL */

/* memory.c */
void cs_memory_init(void);
size_t cs_memory_total(void);
size_t cs_memory_used(void);
void cs_memory_destroy_all(void);       /* context destruction: frees every device allocation */
int cs_pinned(const void *p, size_t n); /* [p, p+n) inside one live cuMemHostAlloc allocation */
/* A pointer parameter of a kernel: the host address of device address p (0
 * stays NULL), or NULL with *ok = 0 (and a description in why) when p is in
 * no live allocation. */
void *cs_translate(uint64_t p, int *ok, char *why, size_t whylen);
/* Describes the device allocation whose guard pages contain host address a. */
void cs_describe_host_fault(const void *a, char *buf, size_t len);

/* stream.c */
void cs_streams_init(void);
int cs_stream_valid(CUstream s);
void cs_drain(void);                  /* waits until every queued task has run */
void cs_streams_destroy_all(void);
int cs_on_worker(void);               /* the calling thread is the stream thread */
const char *cs_current_call(void);    /* the task running on the stream thread */

/* module.c */
void cs_modules_destroy_all(void);
void cs_signals_init(void);          /* installs the fault handler (once) */
void cs_worker_signal_stack(void);   /* on the stream thread, before it runs tasks */
/* Runs task fn(arg) on the stream thread, turning a memory fault inside it
 * into a sticky CUDA_ERROR_ILLEGAL_ADDRESS. */
void cs_run_guarded(const char *call, void (*fn)(void *), void *arg);

/* stream.c: stream capture. cs_enqueue_graph queues one task, a graph
 * launch, that runs run(arg) on the stream thread (not guarded: run calls
 * cs_run_task for each node it runs), then release(arg): a graph launch is
 * one submission, as on a GPU. cs_run_task, on the stream thread, runs one
 * node's work as a task of its own (skipped when the sticky error is set;
 * its call named in faults, counted as run). */
int cs_enqueue_graph(cudasim_stream s, void (*run)(void *), void (*release)(void *), void *arg);
void cs_run_task(const char *call, void (*fn)(void *), void *arg);
CUresult cs_capture_unsafe(const char *call);               /* a potentially unsafe call: allowed now? */
CUresult cs_capture_refuse(CUstream s, const char *call);   /* an uncapturable operation on s */
int cs_stream_capturing(CUstream s);

/* graph.c: graphs recorded by capture (graph.h has the records).
 * cs_graph_record is called with the stream lock held and takes no other
 * lock but the graphs'. */
struct cs_graph *cs_graph_new(void);
void cs_graph_free(struct cs_graph *g); /* NULL is a no-op */
CUgraphNode cs_graph_record(struct cs_graph *g, const char *call, void (*fn)(void *), void *arg);

/* conditional.c: cudaGraphSetConditional as a kernel calls it (the
 * simulated NVRTC's prelude routes it here, see module.c). */
void cs_graph_set_conditional(unsigned long long handle, unsigned int value);

/* hazard.c: cross-stream hazards. A stream's identity there comes from
 * cs_hazard_stream (the legacy stream is 0); cs_hazard_task checks the task
 * about to be queued on stream id against unordered work of other streams
 * and records its accesses (launch: a graph launch, all of device memory);
 * non-zero: a hazard, reported as the sticky error, queue nothing.
 * Callers of cs_hazard_task hold the stream lock. */
enum { CS_HZ_LEGACY, CS_HZ_BLOCKING, CS_HZ_NONBLOCKING };
int cs_hazard_stream(int kind);
int cs_hazard_task(int id, const char *call, int launch);
void cs_hazard_host_sync(int id);  /* the host waited for stream id's queued work */
void cs_hazard_host_sync_all(void); /* the host waited for all queued work */
void cs_hazard_discard(void);       /* forget the calling thread's declared accesses */
void cs_hazard_declare_checked(uint64_t p, size_t bytes); /* cudasim_check's range, read and written */
void cs_hazard_kernel_arg(uint64_t p);                    /* a kernel's pointer parameter */
size_t cs_alloc_tail(uint64_t p); /* memory.c: bytes from p to the end of its live allocation, 0 if none */

/* stats.c */
void cs_count_api(void); /* one exported entry point called (the "api_calls" counter) */
void cs_stats_write(void);
uint64_t cs_env_bytes(const char *name, uint64_t def);

#endif
