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
 * uploads the new contents, as on a GPU, but reliably. Since the one FIFO
 * would serialise racing streams for free, every task is checked against
 * other streams' unfinished work when it is queued (hazard.c).
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
	unsigned int flags;    /* cuStreamCreate's: CU_STREAM_NON_BLOCKING or not */
	int hz;                /* its identity in hazard.c (the legacy stream: 0) */
	uint64_t queued, done; /* tasks, guarded by mu */
	struct cudasim_stream *next;
	/* Stream capture (graph.c), guarded by mu: status is one of
	 * CU_STREAM_CAPTURE_STATUS_NONE/ACTIVE/INVALIDATED. */
	int capture_status, capture_mode;
	pthread_t capture_thread;
	uint64_t capture_id;
	struct cs_graph *capture_graph;
	CUgraphNode capture_last; /* the capture's last node: its dependency set */
};

struct task {
	struct task *next;
	struct cudasim_stream *s;
	void (*fn)(void *);
	void *arg;
	void (*release)(void *); /* instead of free(arg) after it ran: a graph launch's */
	int launch;              /* a graph launch: fn runs its nodes through cs_run_task */
	char call[96];
	struct timespec due;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER, finished = PTHREAD_COND_INITIALIZER;
static struct task *head, *tail;
static uint64_t queued_all, done_all;
static int waiters; /* host threads waiting: run work at once */
static struct cudasim_stream legacy = {.magic = STREAM_MAGIC, .live = 1};
static uint64_t capture_ids;
static struct cudasim_stream *streams;
static pthread_t worker;
static __thread int on_worker;
static __thread const char *running_call;
static long delay_ms;

int cs_on_worker(void) { return on_worker; }
const char *cs_current_call(void) { return running_call; }

/* What ran on the device, eager or replayed from a graph: every task, and
 * those that stand for kernels (a cuLaunchKernel, or a cuDNN or cuBLAS
 * call, each at least one kernel on a GPU) rather than copies and memsets. */
static void count_run(const char *call) {
	cudasim_count("tasks_run", 1);
	if (strncmp(call, "cuLaunchKernel", 14) == 0 || strncmp(call, "cudnn", 5) == 0 || strncmp(call, "cublas", 6) == 0)
		cudasim_count("kernels_run", 1);
}

void cs_run_task(const char *call, void (*fn)(void *), void *arg) {
	if (cudasim_sticky() != 0) return;
	running_call = call;
	cs_run_guarded(call, fn, arg);
	running_call = NULL;
	count_run(call);
}

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
		if (t->launch) {
			if (cudasim_sticky() == 0) t->fn(t->arg);
		} else {
			cs_run_task(t->call, t->fn, t->arg);
		}
		if (t->release) t->release(t->arg);
		else free(t->arg);
		pthread_mutex_lock(&mu);
		t->s->done++;
		done_all++;
		free(t);
		pthread_cond_broadcast(&finished);
	}
	return NULL;
}

void cs_streams_init(void) {
	cs_hazard_stream(CS_HZ_LEGACY);
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

/* A blocking stream (created without CU_STREAM_NON_BLOCKING) capturing:
 * work on the legacy stream would depend on it implicitly. Callers hold mu. */
static struct cudasim_stream *blocking_capture(void) {
	for (struct cudasim_stream *p = streams; p != NULL; p = p->next) {
		if (p->live && p->capture_status != CU_STREAM_CAPTURE_STATUS_NONE && (p->flags & 1) == 0) return p;
	}
	return NULL;
}

static int enqueue(cudasim_stream s, const char *call, void (*fn)(void *), void *arg, void (*release)(void *),
	int launch) {
	int sticky = cudasim_sticky();
	if (sticky) return sticky;
	struct cudasim_stream *st = resolve(s);
	struct task *t = calloc(1, sizeof *t);
	if (t == NULL) return CUDASIM_ERROR_OUT_OF_MEMORY;
	t->fn = fn;
	t->arg = arg;
	t->release = release;
	t->launch = launch;
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
	/* Stream capture (cuStreamBeginCapture_v2): "When a stream is in capture
	 * mode, all operations pushed into the stream will not be executed, but
	 * will instead be captured into a graph". A graph launch (release
	 * set) is never recorded: cuGraphLaunch refuses a capturing stream
	 * first. */
	if (release == NULL && st->capture_status == CU_STREAM_CAPTURE_STATUS_INVALIDATED) {
		pthread_mutex_unlock(&mu);
		free(t);
		return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
	}
	if (release == NULL && st->capture_status == CU_STREAM_CAPTURE_STATUS_ACTIVE) {
		CUgraphNode n = cs_graph_record(st->capture_graph, call, fn, arg);
		if (n != NULL) st->capture_last = n;
		pthread_mutex_unlock(&mu);
		free(t);
		return n != NULL ? CUDASIM_SUCCESS : CUDASIM_ERROR_OUT_OF_MEMORY;
	}
	/* cuStreamIsCapturing: "When a blocking stream is capturing, the legacy
	 * stream is in an unusable state until the blocking stream capture is
	 * terminated" (CUDA_ERROR_STREAM_CAPTURE_IMPLICIT); the work would
	 * depend on the capture, which cannot be recorded: it is invalidated. */
	struct cudasim_stream *b = st == &legacy ? blocking_capture() : NULL;
	if (b != NULL) {
		b->capture_status = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
		pthread_mutex_unlock(&mu);
		free(t);
		cs_note("%s on the legacy stream while a blocking stream captures: CUDA_ERROR_STREAM_CAPTURE_IMPLICIT, "
			"the capture is invalidated", call);
		return CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
	}
	if (cs_hazard_task(st->hz, call, launch)) {
		pthread_mutex_unlock(&mu);
		free(t);
		return CUDASIM_ERROR_LAUNCH_FAILED;
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

CS_API int cudasim_enqueue(cudasim_stream s, const char *call, void (*fn)(void *arg), void *arg) {
	int r = enqueue(s, call, fn, arg, NULL, 0);
	cs_hazard_discard(); /* queued, recorded into a graph, or refused: the declared accesses are spent */
	return r;
}

int cs_enqueue_graph(cudasim_stream s, void (*run)(void *), void (*release)(void *), void *arg) {
	return enqueue(s, "cuGraphLaunch", run, arg, release, 1);
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
	cs_hazard_host_sync_all();
}

/* cuStreamCreate: Flags are CU_STREAM_DEFAULT (0) or CU_STREAM_NON_BLOCKING (1). */
CS_API CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (phStream == NULL || Flags > 1) return CUDA_ERROR_INVALID_VALUE;
	struct cudasim_stream *s = calloc(1, sizeof *s);
	if (s == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
	s->magic = STREAM_MAGIC;
	s->live = 1;
	s->flags = Flags;
	s->hz = cs_hazard_stream(Flags & 1 ? CS_HZ_NONBLOCKING : CS_HZ_BLOCKING);
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
	cs_count_api();
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
	cs_count_api();
	CUresult r = cs_enter_nosticky();
	if (r != CUDA_SUCCESS) return r;
	struct cudasim_stream *s = resolve(hStream);
	pthread_mutex_lock(&mu);
	int ok = live_stream(s);
	uint64_t target = s->queued;
	/* CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED: "The operation is not
	 * permitted when the stream is capturing"; a synchronisation cannot be
	 * recorded, so the capture is invalidated. The legacy stream while a
	 * blocking stream captures: CUDA_ERROR_STREAM_CAPTURE_IMPLICIT. */
	struct cudasim_stream *cap = NULL;
	CUresult bad = CUDA_SUCCESS;
	if (ok && s->capture_status != CU_STREAM_CAPTURE_STATUS_NONE) cap = s, bad = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
	else if (ok && s == &legacy && (cap = blocking_capture()) != NULL) bad = CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
	if (cap != NULL) cap->capture_status = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
	pthread_mutex_unlock(&mu);
	if (!ok) return CUDA_ERROR_INVALID_HANDLE;
	if (bad != CUDA_SUCCESS) {
		cs_note("cuStreamSynchronize during stream capture: the capture is invalidated");
		return bad;
	}
	cudasim_count("stream_syncs", 1);
	wait_for(&s->done, target);
	cs_hazard_host_sync(s->hz);
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
	/* A pageable copy is staged through a driver buffer synchronously, which
	 * a graph cannot record: during capture it is refused in any mode and
	 * the capture invalidated (cs_capture_refuse). */
	if (!cs_pinned(p, n)) {
		CUresult r = cs_capture_refuse(s, call);
		if (r != CUDA_SUCCESS) return r;
	}
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
	cs_count_api();
	const char *call = "cuMemcpyHtoDAsync_v2";
	CUresult r = cs_enter();
	if (r == CUDA_SUCCESS) r = host_side(call, srcHost, ByteCount, hStream);
	if (r != CUDA_SUCCESS) return r;
	if (!cudasim_check(dstDevice, ByteCount, call)) return CUDA_ERROR_ILLEGAL_ADDRESS;
	cudasim_access(dstDevice, ByteCount, CUDASIM_WRITE);
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
	cs_count_api();
	const char *call = "cuMemcpyDtoHAsync_v2";
	CUresult r = cs_enter();
	if (r == CUDA_SUCCESS) r = host_side(call, dstHost, ByteCount, hStream);
	if (r != CUDA_SUCCESS) return r;
	if (!cudasim_check(srcDevice, ByteCount, call)) return CUDA_ERROR_ILLEGAL_ADDRESS;
	cudasim_access(srcDevice, ByteCount, CUDASIM_READ);
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
	cs_count_api();
	const char *call = "cuMemcpyDtoDAsync_v2";
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (!cs_stream_valid(hStream)) return CUDA_ERROR_INVALID_HANDLE;
	if (!cudasim_check(dstDevice, ByteCount, call) || !cudasim_check(srcDevice, ByteCount, call))
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	cudasim_access(srcDevice, ByteCount, CUDASIM_READ);
	cudasim_access(dstDevice, ByteCount, CUDASIM_WRITE);
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
	cs_count_api();
	const char *call = "cuMemsetD32Async";
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (!cs_stream_valid(hStream)) return CUDA_ERROR_INVALID_HANDLE;
	if (dstDevice % 4 != 0) return CUDA_ERROR_INVALID_VALUE;
	if (!cudasim_check(dstDevice, N * 4, call)) return CUDA_ERROR_ILLEGAL_ADDRESS;
	cudasim_access(dstDevice, N * 4, CUDASIM_WRITE);
	struct copy *c = calloc(1, sizeof *c);
	c->dev = dstDevice;
	c->n = N;
	c->value = ui;
	cudasim_count("memsets", 1);
	return queue_copy(call, hStream, run_memset32, c);
}

/* ---- host functions ---- */

struct host_call {
	void (*fn)(void *);
	void *user;
};

static void run_host(void *arg) {
	struct host_call *h = arg;
	h->fn(h->user);
}

/* cuLaunchHostFunc: "Enqueues a host function call in a stream. The
 * function will be called after currently enqueued work and will block work
 * added after it." On a capturing stream it becomes a host node
 * (CU_GRAPH_NODE_TYPE_HOST), called once per graph launch. Here it runs on
 * the stream thread, in stream order. */
CS_API CUresult cuLaunchHostFunc(CUstream hStream, void (*fn)(void *userData), void *userData) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (!cs_stream_valid(hStream)) return CUDA_ERROR_INVALID_HANDLE;
	if (fn == NULL) return CUDA_ERROR_INVALID_VALUE;
	struct host_call *h = calloc(1, sizeof *h);
	if (h == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
	h->fn = fn;
	h->user = userData;
	int q = cudasim_enqueue(hStream, "cuLaunchHostFunc", run_host, h);
	if (q != CUDASIM_SUCCESS) free(h);
	return (CUresult)q;
}

/* ---- stream capture (CUDA Driver API reference, "Stream Management";
 * CUDA Programming Guide, "CUDA Graphs", "Creating a Graph Using Stream
 * Capture") ---- */

/* cuStreamBeginCapture_v2: "Begin graph capture on hStream. When a stream is
 * in capture mode, all operations pushed into the stream will not be
 * executed, but will instead be captured into a graph, which will be
 * returned via cuStreamEndCapture. Capture may not be initiated if stream is
 * CU_STREAM_LEGACY. Capture must be ended on the same stream in which it was
 * initiated, and it may only be initiated if the stream is not already in
 * capture mode." mode is CU_STREAM_CAPTURE_MODE_GLOBAL (0), THREAD_LOCAL (1)
 * or RELAXED (2). */
CS_API CUresult cuStreamBeginCapture_v2(CUstream hStream, unsigned int mode) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (mode > 2) return CUDA_ERROR_INVALID_VALUE;
	struct cudasim_stream *s = resolve(hStream);
	if (s == &legacy) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
	struct cs_graph *g = cs_graph_new();
	if (g == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&mu);
	if (!live_stream(s)) r = CUDA_ERROR_INVALID_HANDLE;
	else if (s->capture_status != CU_STREAM_CAPTURE_STATUS_NONE) r = CUDA_ERROR_ILLEGAL_STATE;
	else {
		s->capture_status = CU_STREAM_CAPTURE_STATUS_ACTIVE;
		s->capture_mode = (int)mode;
		s->capture_thread = pthread_self();
		s->capture_id = ++capture_ids;
		s->capture_graph = g;
		s->capture_last = NULL;
	}
	pthread_mutex_unlock(&mu);
	if (r != CUDA_SUCCESS) cs_graph_free(g);
	return r;
}

/* cuStreamEndCapture: "End capture on hStream, returning the captured graph
 * via *phGraph. ... If capture was invalidated, due to a violation of the
 * rules of stream capture, then a NULL graph will be returned. If the mode
 * argument to cuStreamBeginCapture was not CU_STREAM_CAPTURE_MODE_RELAXED,
 * this call must be from the same thread as cuStreamBeginCapture."
 * (CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD otherwise). An invalidated capture
 * ends with CUDA_ERROR_STREAM_CAPTURE_INVALIDATED; a stream that is not
 * capturing is CUDA_ERROR_ILLEGAL_STATE. */
CS_API CUresult cuStreamEndCapture(CUstream hStream, CUgraph *phGraph) {
	cs_count_api();
	CUresult r = cs_enter_nosticky();
	if (r != CUDA_SUCCESS) return r;
	if (phGraph == NULL) return CUDA_ERROR_INVALID_VALUE;
	struct cudasim_stream *s = resolve(hStream);
	struct cs_graph *g = NULL;
	pthread_mutex_lock(&mu);
	if (!live_stream(s)) r = CUDA_ERROR_INVALID_HANDLE;
	else if (s->capture_status == CU_STREAM_CAPTURE_STATUS_NONE) r = CUDA_ERROR_ILLEGAL_STATE;
	else if (s->capture_mode != 2 && !pthread_equal(s->capture_thread, pthread_self()))
		r = CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD;
	else {
		if (s->capture_status == CU_STREAM_CAPTURE_STATUS_INVALIDATED) r = CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
		g = s->capture_graph;
		s->capture_status = CU_STREAM_CAPTURE_STATUS_NONE;
		s->capture_graph = NULL;
		s->capture_last = NULL;
	}
	pthread_mutex_unlock(&mu);
	if (r == CUDA_ERROR_STREAM_CAPTURE_INVALIDATED) {
		cs_graph_free(g);
		g = NULL;
	}
	if (r == CUDA_SUCCESS || r == CUDA_ERROR_STREAM_CAPTURE_INVALIDATED) *phGraph = g;
	if (r == CUDA_SUCCESS) {
		int sticky = cudasim_sticky();
		if (sticky) r = (CUresult)sticky; /* "may also return error codes from previous, asynchronous launches" */
	}
	return r;
}

/* cuStreamIsCapturing: "Return the capture status of hStream via
 * captureStatus": NONE (0), ACTIVE (1), INVALIDATED (2). "Note that, if this
 * is called on CU_STREAM_LEGACY (the "null stream") while a blocking stream
 * in the same context is capturing, it will return
 * CUDA_ERROR_STREAM_CAPTURE_IMPLICIT ... The blocking stream capture is not
 * invalidated." */
CS_API CUresult cuStreamIsCapturing(CUstream hStream, unsigned int *captureStatus) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (captureStatus == NULL) return CUDA_ERROR_INVALID_VALUE;
	struct cudasim_stream *s = resolve(hStream);
	pthread_mutex_lock(&mu);
	if (!live_stream(s)) r = CUDA_ERROR_INVALID_HANDLE;
	else if (s == &legacy && blocking_capture() != NULL) r = CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
	else *captureStatus = (unsigned int)s->capture_status;
	pthread_mutex_unlock(&mu);
	return r;
}

/* cuStreamGetCaptureInfo_v2: the capture status, its unique id, the graph
 * being captured ("valid until capture ends"), and the set of nodes the next
 * captured operation will depend on ("valid until the next API call on the
 * stream"): here at most one, the last node captured, as a capture on one
 * stream is a chain. Any output may be NULL. When the stream is not
 * capturing only the status is written. */
CS_API CUresult cuStreamGetCaptureInfo_v2(CUstream hStream, unsigned int *captureStatus_out, uint64_t *id_out,
	CUgraph *graph_out, const CUgraphNode **dependencies_out, size_t *numDependencies_out) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (captureStatus_out == NULL) return CUDA_ERROR_INVALID_VALUE;
	struct cudasim_stream *s = resolve(hStream);
	pthread_mutex_lock(&mu);
	if (!live_stream(s)) r = CUDA_ERROR_INVALID_HANDLE;
	else if (s == &legacy && blocking_capture() != NULL) r = CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
	else {
		*captureStatus_out = (unsigned int)s->capture_status;
		if (s->capture_status != CU_STREAM_CAPTURE_STATUS_NONE) {
			if (id_out) *id_out = s->capture_id;
			if (graph_out) *graph_out = s->capture_graph;
			if (dependencies_out) *dependencies_out = s->capture_last ? &s->capture_last : NULL;
			if (numDependencies_out) *numDependencies_out = s->capture_last ? 1 : 0;
		}
	}
	pthread_mutex_unlock(&mu);
	return r;
}

/* cuThreadExchangeStreamCaptureMode's rules for "potentially unsafe API
 * calls" (an allocation, a free, a module load or unload, anything that
 * synchronises): "If the local thread has an ongoing capture sequence that
 * was not initiated with CU_STREAM_CAPTURE_MODE_RELAXED at
 * cuStreamBeginCapture, or if any other thread has a concurrent capture
 * sequence initiated with CU_STREAM_CAPTURE_MODE_GLOBAL, this thread is
 * prohibited from potentially unsafe API calls." Such a call fails with
 * CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and invalidates the captures that
 * forbid it. */
CUresult cs_capture_unsafe(const char *call) {
	int n = 0;
	pthread_mutex_lock(&mu);
	for (struct cudasim_stream *p = streams; p != NULL; p = p->next) {
		if (!p->live || p->capture_status == CU_STREAM_CAPTURE_STATUS_NONE) continue;
		int mine = pthread_equal(p->capture_thread, pthread_self());
		if ((mine && p->capture_mode != 2) || (!mine && p->capture_mode == 0)) {
			p->capture_status = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
			n++;
		}
	}
	pthread_mutex_unlock(&mu);
	if (n == 0) return CUDA_SUCCESS;
	cs_note("%s during stream capture: CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, the capture is invalidated", call);
	return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
}

/* An operation on stream s that cannot be captured in any mode: refused,
 * and s's capture invalidated, when s is capturing. */
CUresult cs_capture_refuse(CUstream hStream, const char *call) {
	struct cudasim_stream *s = resolve(hStream);
	pthread_mutex_lock(&mu);
	int capturing = live_stream(s) && s->capture_status != CU_STREAM_CAPTURE_STATUS_NONE;
	if (capturing) s->capture_status = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
	pthread_mutex_unlock(&mu);
	if (!capturing) return CUDA_SUCCESS;
	cs_note("%s cannot be captured into a graph: CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, the capture is invalidated", call);
	return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
}

CS_API int cudasim_capture_refuse(cudasim_stream s, const char *call) { return (int)cs_capture_refuse(s, call); }

/* A graph launch must not be recorded (child graphs are not simulated). */
int cs_stream_capturing(CUstream hStream) {
	struct cudasim_stream *s = resolve(hStream);
	pthread_mutex_lock(&mu);
	int c = live_stream(s) && s->capture_status != CU_STREAM_CAPTURE_STATUS_NONE;
	pthread_mutex_unlock(&mu);
	return c;
}

CS_API int cudasim_capturing(cudasim_stream s) { return cs_stream_capturing(s); }
