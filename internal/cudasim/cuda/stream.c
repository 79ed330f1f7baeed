/*
 * stream.c: streams, the stream thread, and asynchronous copies (CUDA
 * Driver API reference, "Stream Management", "Memory Management"; CUDA
 * Programming Guide, "Asynchronous Concurrent Execution").
 *
 * All work is queued in one FIFO and run by one simulator thread, so each
 * stream's work runs in the order it was queued (stronger than CUDA, which
 * only orders work within a stream). Work runs later than it was queued: in
 * strict mode the thread holds each task back for CUDASIM_DELAY_MS
 * (default 20) unless the host waits for it, so that a host read of a
 * device-to-host copy's destination before cuStreamSynchronize sees the
 * old contents, and a pinned buffer rewritten before its upload ran
 * uploads the new contents, as on a GPU, but reliably.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core.h"

#define STREAM_MAGIC 0x5354524du

struct cudasim_stream {
	uint32_t magic;
	int live;
	uint64_t queued, done; /* tasks, guarded by mu */
	struct cudasim_stream *next;
};

struct task {
	struct task *next;
	struct cudasim_stream *s;
	void (*fn)(void *);
	void *arg;
	char call[96];
	struct timespec due;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER, finished = PTHREAD_COND_INITIALIZER;
static struct task *head, *tail;
static uint64_t queued_all, done_all;
static int waiters; /* host threads waiting: run work at once */
static struct cudasim_stream legacy = {STREAM_MAGIC, 1, 0, 0, NULL};
static struct cudasim_stream *streams;
static pthread_t worker;
static __thread int on_worker;
static __thread const char *running_call;
static long delay_ms;

int cs_on_worker(void) { return on_worker; }
const char *cs_current_call(void) { return running_call; }

static void *work_loop(void *unused) {
	on_worker = 1;
	cs_worker_signal_stack();
	pthread_mutex_lock(&mu);
	for (;;) {
		while (head == NULL) pthread_cond_wait(&work, &mu);
		struct task *t = head;
		if (waiters == 0 && delay_ms > 0) {
			if (pthread_cond_timedwait(&work, &mu, &t->due) != ETIMEDOUT) continue;
		}
		head = t->next;
		if (head == NULL) tail = NULL;
		pthread_mutex_unlock(&mu);
		if (cudasim_sticky() == 0) {
			running_call = t->call;
			cs_run_guarded(t->call, t->fn, t->arg);
			running_call = NULL;
		}
		free(t->arg);
		pthread_mutex_lock(&mu);
		t->s->done++;
		done_all++;
		free(t);
		pthread_cond_broadcast(&finished);
	}
	return NULL;
}

void cs_streams_init(void) {
	delay_ms = cudasim_strict() ? (long)cs_env_bytes("CUDASIM_DELAY_MS", 20) : 0;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 8 << 20);
	if (pthread_create(&worker, &attr, work_loop, NULL) != 0) abort();
	pthread_attr_destroy(&attr);
	pthread_detach(worker);
}

/* The legacy default stream (NULL, CU_STREAM_LEGACY = 0x1) and the
 * per-thread one (CU_STREAM_PER_THREAD = 0x2) are the same queue here. */
static struct cudasim_stream *resolve(CUstream s) {
	if (s == NULL || (uintptr_t)s == 1 || (uintptr_t)s == 2) return &legacy;
	return s;
}

/* Callers hold mu. */
static int live_stream(struct cudasim_stream *s) {
	if (s == &legacy) return 1;
	for (struct cudasim_stream *p = streams; p != NULL; p = p->next) {
		if (p == s) return p->live;
	}
	return 0;
}

int cs_stream_valid(CUstream s) {
	pthread_mutex_lock(&mu);
	int ok = live_stream(resolve(s));
	pthread_mutex_unlock(&mu);
	return ok;
}

CS_API int cudasim_enqueue(cudasim_stream s, const char *call, void (*fn)(void *arg), void *arg) {
	int sticky = cudasim_sticky();
	if (sticky) return sticky;
	struct cudasim_stream *st = resolve(s);
	struct task *t = calloc(1, sizeof *t);
	if (t == NULL) return CUDASIM_ERROR_OUT_OF_MEMORY;
	t->fn = fn;
	t->arg = arg;
	t->s = st;
	snprintf(t->call, sizeof t->call, "%s", call);
	clock_gettime(CLOCK_REALTIME, &t->due);
	t->due.tv_nsec += delay_ms * 1000000;
	t->due.tv_sec += t->due.tv_nsec / 1000000000;
	t->due.tv_nsec %= 1000000000;
	pthread_mutex_lock(&mu);
	if (!live_stream(st)) {
		pthread_mutex_unlock(&mu);
		free(t);
		return CUDASIM_ERROR_INVALID_HANDLE;
	}
	st->queued++;
	queued_all++;
	if (tail) tail->next = t;
	else head = t;
	tail = t;
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&mu);
	return CUDASIM_SUCCESS;
}

/* wait_for blocks until the task counter *done reaches target. */
static void wait_for(volatile uint64_t *done, uint64_t target) {
	if (on_worker) return; /* a task cannot wait for the queue it runs in */
	pthread_mutex_lock(&mu);
	waiters++;
	pthread_cond_broadcast(&work);
	while (*done < target) pthread_cond_wait(&finished, &mu);
	waiters--;
	pthread_mutex_unlock(&mu);
}

void cs_drain(void) {
	pthread_mutex_lock(&mu);
	uint64_t target = queued_all;
	pthread_mutex_unlock(&mu);
	wait_for(&done_all, target);
}

/* cuStreamCreate: Flags are CU_STREAM_DEFAULT (0) or CU_STREAM_NON_BLOCKING (1). */
CS_API CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags) {
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (phStream == NULL || Flags > 1) return CUDA_ERROR_INVALID_VALUE;
	struct cudasim_stream *s = calloc(1, sizeof *s);
	if (s == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
	s->magic = STREAM_MAGIC;
	s->live = 1;
	pthread_mutex_lock(&mu);
	s->next = streams;
	streams = s;
	pthread_mutex_unlock(&mu);
	*phStream = s;
	return CUDA_SUCCESS;
}

/* cuStreamDestroy_v2: "In case the device is still doing work in the stream
 * hStream when cuStreamDestroy() is called, the function will return
 * immediately and the resources associated with hStream will be released
 * automatically once the device has completed all work". The handle is dead
 * at once: using it again is CUDA_ERROR_INVALID_HANDLE (its memory is kept
 * so that a stale handle is recognised rather than reused). */
CS_API CUresult cuStreamDestroy_v2(CUstream hStream) {
	CUresult r = cs_enter_nosticky();
	if (r != CUDA_SUCCESS) return r;
	struct cudasim_stream *s = resolve(hStream);
	pthread_mutex_lock(&mu);
	int ok = s != &legacy && live_stream(s);
	if (ok) s->live = 0;
	pthread_mutex_unlock(&mu);
	return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

void cs_streams_destroy_all(void) {
	pthread_mutex_lock(&mu);
	for (struct cudasim_stream *p = streams; p != NULL; p = p->next) p->live = 0;
	pthread_mutex_unlock(&mu);
}

/* cuStreamSynchronize: "Waits until the device has completed all operations
 * in the stream"; "may also return error codes from previous, asynchronous
 * launches" (the sticky error). Counted, and the stats file rewritten. */
CS_API CUresult cuStreamSynchronize(CUstream hStream) {
	CUresult r = cs_enter_nosticky();
	if (r != CUDA_SUCCESS) return r;
	struct cudasim_stream *s = resolve(hStream);
	pthread_mutex_lock(&mu);
	int ok = live_stream(s);
	uint64_t target = s->queued;
	pthread_mutex_unlock(&mu);
	if (!ok) return CUDA_ERROR_INVALID_HANDLE;
	cudasim_count("stream_syncs", 1);
	wait_for(&s->done, target);
	cs_stats_write();
	int sticky = cudasim_sticky();
	return sticky ? (CUresult)sticky : CUDA_SUCCESS;
}

/* ---- asynchronous copies and memset ---- */

struct copy {
	uint64_t dev, dev2;
	void *hostp;
	size_t n;
	unsigned int value;
	char call[32];
};

static void run_htod(void *arg) {
	struct copy *c = arg;
	void *d = cudasim_host(c->dev, c->n, c->call);
	if (d) memcpy(d, c->hostp, c->n);
}

static void run_dtoh(void *arg) {
	struct copy *c = arg;
	void *s = cudasim_host(c->dev, c->n, c->call);
	if (s) memcpy(c->hostp, s, c->n);
}

static void run_dtod(void *arg) {
	struct copy *c = arg;
	void *d = cudasim_host(c->dev, c->n, c->call);
	void *s = d ? cudasim_host(c->dev2, c->n, c->call) : NULL;
	if (s) memmove(d, s, c->n);
}

static void run_memset32(void *arg) {
	struct copy *c = arg;
	unsigned int *d = cudasim_host(c->dev, c->n * 4, c->call);
	for (size_t i = 0; d && i < c->n; i++) d[i] = c->value;
}

/* queue_copy checks the stream and the host side at call time, then queues.
 * The device ranges are checked twice: now (cudasim_check: the call is
 * named in the error) and when the copy runs (cudasim_host). */
static CUresult queue_copy(const char *call, CUstream s, void (*fn)(void *), struct copy *c) {
	snprintf(c->call, sizeof c->call, "%s", call);
	int r = cudasim_enqueue(s, call, fn, c);
	if (r != CUDASIM_SUCCESS) free(c);
	return (CUresult)r;
}

static CUresult host_side(const char *call, const void *p, size_t n, CUstream s) {
	if (!cs_stream_valid(s)) return CUDA_ERROR_INVALID_HANDLE;
	if (p == NULL) return CUDA_ERROR_INVALID_VALUE;
	/* Async copies with pageable memory are allowed by CUDA (they are then
	 * staged synchronously); in strict mode they are an error, because
	 * deepres must never hand Go memory to an asynchronous copy. */
	if (cudasim_strict() && !cs_pinned(p, n)) {
		cs_note("%s: host range [%p, +%zu) is not inside memory from cuMemHostAlloc (strict mode: "
			"an asynchronous copy needs pinned memory)", call, p, n);
		return CUDA_ERROR_INVALID_VALUE;
	}
	return CUDA_SUCCESS;
}

/* cuMemcpyHtoDAsync_v2: "Copies from host memory to device memory ... This
 * function exhibits asynchronous behavior for most use cases." */
CS_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream) {
	const char *call = "cuMemcpyHtoDAsync_v2";
	CUresult r = cs_enter();
	if (r == CUDA_SUCCESS) r = host_side(call, srcHost, ByteCount, hStream);
	if (r != CUDA_SUCCESS) return r;
	if (!cudasim_check(dstDevice, ByteCount, call)) return CUDA_ERROR_ILLEGAL_ADDRESS;
	struct copy *c = calloc(1, sizeof *c);
	c->dev = dstDevice;
	c->hostp = (void *)srcHost;
	c->n = ByteCount;
	cudasim_count("bytes_htod", ByteCount);
	cudasim_count("copies_htod", 1);
	return queue_copy(call, hStream, run_htod, c);
}

/* cuMemcpyDtoHAsync_v2: the destination is written when the copy runs. */
CS_API CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) {
	const char *call = "cuMemcpyDtoHAsync_v2";
	CUresult r = cs_enter();
	if (r == CUDA_SUCCESS) r = host_side(call, dstHost, ByteCount, hStream);
	if (r != CUDA_SUCCESS) return r;
	if (!cudasim_check(srcDevice, ByteCount, call)) return CUDA_ERROR_ILLEGAL_ADDRESS;
	struct copy *c = calloc(1, sizeof *c);
	c->dev = srcDevice;
	c->hostp = dstHost;
	c->n = ByteCount;
	cudasim_count("bytes_dtoh", ByteCount);
	cudasim_count("copies_dtoh", 1);
	return queue_copy(call, hStream, run_dtoh, c);
}

/* cuMemcpyDtoDAsync_v2: device to device, in stream order. */
CS_API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) {
	const char *call = "cuMemcpyDtoDAsync_v2";
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (!cs_stream_valid(hStream)) return CUDA_ERROR_INVALID_HANDLE;
	if (!cudasim_check(dstDevice, ByteCount, call) || !cudasim_check(srcDevice, ByteCount, call))
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	struct copy *c = calloc(1, sizeof *c);
	c->dev = dstDevice;
	c->dev2 = srcDevice;
	c->n = ByteCount;
	cudasim_count("bytes_dtod", ByteCount);
	cudasim_count("copies_dtod", 1);
	return queue_copy(call, hStream, run_dtod, c);
}

/* cuMemsetD32Async: "Sets the memory range of N 32-bit values to the
 * specified value ui. The dstDevice pointer must be four byte aligned." */
CS_API CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream) {
	const char *call = "cuMemsetD32Async";
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (!cs_stream_valid(hStream)) return CUDA_ERROR_INVALID_HANDLE;
	if (dstDevice % 4 != 0) return CUDA_ERROR_INVALID_VALUE;
	if (!cudasim_check(dstDevice, N * 4, call)) return CUDA_ERROR_ILLEGAL_ADDRESS;
	struct copy *c = calloc(1, sizeof *c);
	c->dev = dstDevice;
	c->n = N;
	c->value = ui;
	cudasim_count("memsets", 1);
	return queue_copy(call, hStream, run_memset32, c);
}
