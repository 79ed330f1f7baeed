/*
 * hazard.c: cross-stream hazards, as compute-sanitizer's racecheck and
 * synccheck tools and CUDA's stream-ordering rules define them (CUDA
 * Programming Guide, "Asynchronous Concurrent Execution", "Streams",
 * "Default Stream", "Implicit Synchronization"; CUDA Runtime API,
 * "Stream synchronization behavior").
 *
 * The simulator runs all streams' work in one queue, so two streams racing
 * for the same memory would be serialised for free and a missing
 * synchronisation would never show. Here every task (a kernel, a copy, a
 * memset, a cuDNN or cuBLAS call, a graph launch) declares the device ranges
 * it reads and writes when it is queued, and is checked against the tasks
 * of other streams that are not ordered before it. "Ordered before" is a
 * happens-before relation kept with vector clocks, from NVIDIA's rules only,
 * never from when the simulator happened to run the work:
 *
 * - work on one stream is ordered in queue order;
 * - the legacy default stream (NULL, CU_STREAM_LEGACY, and here also the
 *   per-thread default stream, which "will synchronize with the legacy
 *   default stream") waits for all earlier work of every blocking stream,
 *   and a blocking stream's work waits for all earlier legacy work
 *   ("Implicit Synchronization"); a stream created with
 *   CU_STREAM_NON_BLOCKING "may run concurrently with work in stream 0 (the
 *   NULL stream)" and "performs no implicit synchronization with stream 0";
 * - once the host has waited for a stream (cuStreamSynchronize), every task
 *   queued later, on any stream, is ordered after that stream's work; a
 *   call that waits for the whole device (cuMemFree_v2, cuMemFreeHost,
 *   cuModuleUnload: cs_drain) orders everything before what follows.
 *
 * A task that reads or writes a range an unordered task of another stream
 * writes, or writes a range such a task reads, is a hazard: in strict mode
 * (the default) a sticky CUDA_ERROR_LAUNCH_FAILED whose message names both
 * calls, their streams and the range; the task is not queued. Events are
 * not simulated (no cuEvent* entry points): when they are, cuEventRecord
 * takes a stream's clock and cuStreamWaitEvent / cuEventSynchronize join it.
 *
 * Read/write sets: the device ranges a call checks with cudasim_check when
 * it is made (every cuDNN and cuBLAS operand with its exact extent, each
 * copy's and memset's device side), read and written unless the call says
 * less with cudasim_access; a kernel's pointer parameters, each from its
 * address to the end of its allocation (the extent a kernel reaches is not
 * known, so this is conservative: a kernel writing one tensor of an arena
 * conflicts with the rest of the arena); a graph launch all of device
 * memory. A host function (cuLaunchHostFunc) touches no device memory but
 * takes its place in its stream's order.
 *
 * The declared ranges are kept per calling thread from the entry of an API
 * call (cudasim_api_call) until the task is queued (or the call returns);
 * captured work is recorded into its graph, not checked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

#define ALL_MEMORY UINT64_MAX

struct range {
	uint64_t lo, hi; /* [lo, hi) device addresses */
	int mode;        /* CUDASIM_READ | CUDASIM_WRITE */
};

struct rec {
	struct range r;
	uint64_t seq; /* the task's number on its stream */
	char call[64];
};

struct hz_stream {
	int kind;
	uint64_t count;       /* tasks queued */
	uint64_t *clock;      /* clock[o]: tasks of stream o ordered before this stream's next task */
	uint64_t host_seen;   /* host clock version joined last */
	struct rec *recs;     /* accesses not yet known complete, by seq */
	size_t nrec, caprec;
};

static pthread_mutex_t hz_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hz_stream *hs; /* index 0: the legacy stream */
static size_t nhs, caphs;
static uint64_t *host;       /* what the host has waited for */
static uint64_t host_version = 1;

/* The calling thread's declared ranges for the task it is about to queue. */
static __thread struct range *pending;
static __thread size_t npending, cappending;

static void *xrealloc(void *p, size_t n) {
	void *q = realloc(p, n);
	if (q == NULL) abort();
	return q;
}

/* Callers hold hz_mu. Makes room for stream index i in every clock. */
static void grow_clocks(size_t need) {
	if (need <= caphs) return;
	size_t cap = caphs ? caphs * 2 : 16;
	while (cap < need) cap *= 2;
	hs = xrealloc(hs, cap * sizeof *hs);
	memset(hs + caphs, 0, (cap - caphs) * sizeof *hs);
	for (size_t i = 0; i < nhs; i++) {
		hs[i].clock = xrealloc(hs[i].clock, cap * sizeof(uint64_t));
		memset(hs[i].clock + caphs, 0, (cap - caphs) * sizeof(uint64_t));
	}
	host = xrealloc(host, cap * sizeof(uint64_t));
	memset(host + caphs, 0, (cap - caphs) * sizeof(uint64_t));
	caphs = cap;
}

static int new_stream(int kind) {
	grow_clocks(nhs + 1);
	struct hz_stream *s = &hs[nhs];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->clock = calloc(caphs, sizeof(uint64_t));
	if (s->clock == NULL) abort();
	return (int)nhs++;
}

int cs_hazard_stream(int kind) {
	pthread_mutex_lock(&hz_mu);
	if (nhs == 0) new_stream(CS_HZ_LEGACY);
	int id = kind == CS_HZ_LEGACY ? 0 : new_stream(kind);
	pthread_mutex_unlock(&hz_mu);
	return id;
}

static void join(uint64_t *dst, const uint64_t *src) {
	for (size_t i = 0; i < nhs; i++) {
		if (src[i] > dst[i]) dst[i] = src[i];
	}
}

void cs_hazard_discard(void) { npending = 0; }

CS_API void cudasim_access(cudasim_devptr p, size_t bytes, int mode) {
	if (cs_on_worker() || bytes == 0 || mode == 0) return;
	/* A narrower declaration of a range already declared (cudasim_check
	 * declares read and write) replaces it. */
	for (size_t i = 0; i < npending; i++) {
		if (pending[i].lo == p && pending[i].hi == p + bytes) {
			pending[i].mode = mode;
			return;
		}
	}
	if (npending == cappending) {
		cappending = cappending ? cappending * 2 : 16;
		pending = xrealloc(pending, cappending * sizeof *pending);
	}
	pending[npending++] = (struct range){p, p + bytes, mode};
}

void cs_hazard_kernel_arg(uint64_t p) {
	size_t n = cs_alloc_tail(p);
	if (n > 0) cudasim_access(p, n, CUDASIM_READ | CUDASIM_WRITE);
}

void cs_hazard_declare_checked(uint64_t p, size_t bytes) {
	if (cs_on_worker() || bytes == 0) return;
	for (size_t i = 0; i < npending; i++) {
		if (pending[i].lo == p && pending[i].hi == p + bytes) return; /* already declared, maybe narrower */
	}
	cudasim_access(p, bytes, CUDASIM_READ | CUDASIM_WRITE);
}

static const char *kind_name(int kind) {
	switch (kind) {
	case CS_HZ_LEGACY: return "the legacy default stream";
	case CS_HZ_BLOCKING: return "blocking stream";
	default: return "non-blocking stream";
	}
}

static void stream_name(char *buf, size_t len, int id) {
	if (id == 0) snprintf(buf, len, "%s", kind_name(CS_HZ_LEGACY));
	else snprintf(buf, len, "%s #%d", kind_name(hs[id].kind), id);
}

static const char *verb(int mode) { return (mode & CUDASIM_WRITE) ? "writes" : "reads"; }

/* Callers hold hz_mu. Adds one record, dropping earlier ones of the same
 * range whose mode it covers: they can conflict with nothing it does not. */
static void record(struct hz_stream *s, struct range r, const char *call) {
	size_t look = s->nrec > 16 ? s->nrec - 16 : 0;
	for (size_t i = s->nrec; i > look; i--) {
		struct rec *o = &s->recs[i - 1];
		if (o->r.lo == r.lo && o->r.hi == r.hi && (o->r.mode & ~r.mode) == 0) {
			memmove(o, o + 1, (s->nrec - i) * sizeof *o);
			s->nrec--;
		}
	}
	if (s->nrec == s->caprec) {
		s->caprec = s->caprec ? s->caprec * 2 : 64;
		s->recs = xrealloc(s->recs, s->caprec * sizeof *s->recs);
	}
	struct rec *n = &s->recs[s->nrec++];
	n->r = r;
	n->seq = s->count;
	snprintf(n->call, sizeof n->call, "%s", call);
}

int cs_hazard_task(int id, const char *call, int launch) {
	if (!cudasim_strict()) {
		npending = 0;
		return 0;
	}
	pthread_mutex_lock(&hz_mu);
	struct hz_stream *s = &hs[id];
	if (s->host_seen != host_version) {
		join(s->clock, host);
		s->host_seen = host_version;
	}
	if (s->kind == CS_HZ_LEGACY) {
		for (size_t o = 1; o < nhs; o++) {
			if (hs[o].kind == CS_HZ_BLOCKING && hs[o].count > s->clock[o]) join(s->clock, hs[o].clock);
		}
	} else if (s->kind == CS_HZ_BLOCKING && hs[0].count > s->clock[0]) {
		join(s->clock, hs[0].clock);
	}
	s->count++;
	s->clock[id] = s->count;
	if (launch) {
		npending = 0;
		cudasim_access(0, ALL_MEMORY, CUDASIM_READ | CUDASIM_WRITE);
	}
	int bad = 0;
	for (size_t o = 0; o < nhs && !bad; o++) {
		struct hz_stream *other = &hs[o];
		if ((int)o == id || other->nrec == 0 || other->count <= s->clock[o]) continue;
		for (size_t i = other->nrec; i > 0 && !bad; i--) {
			struct rec *w = &other->recs[i - 1];
			if (w->seq <= s->clock[o]) break;
			for (size_t j = 0; j < npending; j++) {
				struct range *a = &pending[j];
				if (a->lo >= w->r.hi || w->r.lo >= a->hi) continue;
				if (!((a->mode | w->r.mode) & CUDASIM_WRITE)) continue;
				char mine[48], theirs[48], range[80];
				stream_name(mine, sizeof mine, id);
				stream_name(theirs, sizeof theirs, (int)o);
				uint64_t lo = a->lo > w->r.lo ? a->lo : w->r.lo, hi = a->hi < w->r.hi ? a->hi : w->r.hi;
				if (lo == 0 && hi == ALL_MEMORY) snprintf(range, sizeof range, "device memory");
				else snprintf(range, sizeof range, "[0x%" PRIx64 ", +%" PRIu64 ")", lo, hi - lo);
				cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call,
					"cross-stream hazard: it %s %s on %s, which %s on %s (its task %" PRIu64 ") %s and may not "
					"have finished: no synchronisation or stream dependency orders them (CUDA Programming "
					"Guide, \"Implicit Synchronization\"; compute-sanitizer racecheck)",
					verb(a->mode), range, mine, w->call, theirs, w->seq, verb(w->r.mode));
				bad = 1;
				break;
			}
		}
	}
	if (!bad) {
		for (size_t j = 0; j < npending; j++) record(s, pending[j], call);
	} else {
		s->count--;
		s->clock[id] = s->count;
	}
	npending = 0;
	pthread_mutex_unlock(&hz_mu);
	return bad;
}

/* Callers hold hz_mu: the host's clock changed; records every later task is
 * ordered after are dropped. */
static void host_advanced(void) {
	host_version++;
	for (size_t o = 0; o < nhs; o++) {
		struct hz_stream *s = &hs[o];
		size_t k = 0;
		while (k < s->nrec && s->recs[k].seq <= host[o]) k++;
		if (k == 0) continue;
		memmove(s->recs, s->recs + k, (s->nrec - k) * sizeof *s->recs);
		s->nrec -= k;
	}
}

void cs_hazard_host_sync(int id) {
	pthread_mutex_lock(&hz_mu);
	if ((size_t)id < nhs) {
		join(host, hs[id].clock);
		host_advanced();
	}
	pthread_mutex_unlock(&hz_mu);
}

void cs_hazard_host_sync_all(void) {
	pthread_mutex_lock(&hz_mu);
	for (size_t o = 0; o < nhs; o++) {
		if (host[o] < hs[o].count) host[o] = hs[o].count;
	}
	host_advanced();
	pthread_mutex_unlock(&hz_mu);
}
