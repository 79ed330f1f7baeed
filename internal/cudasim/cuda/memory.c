/*
 * memory.c: device and pinned host memory (CUDA Driver API reference,
 * "Memory Management"), stricter than a GPU:
 *
 * - Device addresses lie in a range the host cannot dereference (from
 *   DEVICE_BASE, non-canonical on x86-64), are never reused, and are
 *   translated to host storage only inside the simulator's calls and
 *   kernels. Each allocation's storage ends exactly at a page boundary
 *   followed (and preceded) by GUARD bytes of inaccessible pages, so that a
 *   kernel running past either end faults (module.c turns that into
 *   CUDA_ERROR_ILLEGAL_ADDRESS).
 * - New device and pinned allocations are filled with 0xFF bytes: a NaN as
 *   float32 and as float64, so that reading memory never written shows.
 * - The device's size is CUDASIM_MEMORY (default 2GiB); allocations beyond
 *   it fail with CUDA_ERROR_OUT_OF_MEMORY, as on a full card.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "core.h"

#define DEVICE_BASE 0xde00000000000000ull
#define DEVICE_ALIGN 256 /* cudaMalloc's documented alignment ("at least 256 bytes") */
#define DEVICE_GAP 4096  /* unused device addresses between allocations */
#define GUARD (64 * 1024)

struct alloc {
	uint64_t dev;
	size_t size;
	char *host; /* size bytes, ending at a page boundary */
	void *map;
	size_t maplen;
	int live;
};

/* Device allocations sorted by dev (addresses only grow, so appending keeps
 * the order); freed ones stay, marked dead, so that a use after free is
 * named as such. Pinned allocations are few: a plain list. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct alloc *allocs;
static size_t nallocs, capallocs;
static struct alloc *pinned;
static size_t npinned, cappinned;
static uint64_t next_dev = DEVICE_BASE;
static size_t total_bytes, used_bytes;
static size_t page;

uint64_t cs_env_bytes(const char *name, uint64_t def) {
	const char *e = getenv(name);
	if (e == NULL || *e == 0) return def;
	char *end;
	double v = strtod(e, &end);
	uint64_t mul = 1;
	if (strcmp(end, "") == 0 || strcmp(end, "B") == 0) mul = 1;
	else if (strcmp(end, "KiB") == 0) mul = 1ull << 10;
	else if (strcmp(end, "MiB") == 0) mul = 1ull << 20;
	else if (strcmp(end, "GiB") == 0) mul = 1ull << 30;
	else if (strcmp(end, "TiB") == 0) mul = 1ull << 40;
	else mul = 0;
	if (mul == 0 || !(v > 0)) {
		fprintf(stderr, "cudasim: %s=%s is not a size (e.g. 2GiB, 512MiB, 1048576): using %" PRIu64 " bytes\n", name, e, def);
		return def;
	}
	return (uint64_t)(v * (double)mul);
}

void cs_memory_init(void) {
	page = (size_t)sysconf(_SC_PAGESIZE);
	total_bytes = cs_env_bytes("CUDASIM_MEMORY", 2ull << 30);
}

size_t cs_memory_total(void) { return total_bytes; }

size_t cs_memory_used(void) {
	pthread_mutex_lock(&mu);
	size_t u = used_bytes;
	pthread_mutex_unlock(&mu);
	return u;
}

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* guarded maps size bytes that end at a page boundary between guard pages. */
static int guarded(struct alloc *a, size_t size) {
	size_t body = round_up(size, page);
	a->maplen = GUARD + body + GUARD;
	a->map = mmap(NULL, a->maplen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->map == MAP_FAILED) return 0;
	char *b = (char *)a->map + GUARD;
	if (mprotect(b, body, PROT_READ | PROT_WRITE) != 0) {
		munmap(a->map, a->maplen);
		return 0;
	}
	a->host = b + body - size;
	a->size = size;
	memset(a->host, 0xff, size);
	return 1;
}

static void grow(struct alloc **v, size_t *cap, size_t n) {
	if (n < *cap) return;
	*cap = *cap ? 2 * *cap : 256;
	*v = realloc(*v, *cap * sizeof **v);
	if (*v == NULL) abort();
}

/* cuMemAlloc_v2: "Allocates bytesize bytes of linear memory on the device";
 * bytesize 0 is CUDA_ERROR_INVALID_VALUE; the memory is not cleared (here:
 * NaN-filled). */
CS_API CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	r = cs_capture_unsafe("cuMemAlloc_v2"); /* a potentially unsafe call during capture (stream.c) */
	if (r != CUDA_SUCCESS) return r;
	if (dptr == NULL || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
	size_t charge = round_up(bytesize, DEVICE_ALIGN);
	pthread_mutex_lock(&mu);
	if (used_bytes + charge > total_bytes || charge < bytesize) {
		pthread_mutex_unlock(&mu);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	grow(&allocs, &capallocs, nallocs);
	struct alloc a = {0};
	if (!guarded(&a, bytesize)) {
		pthread_mutex_unlock(&mu);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	a.dev = next_dev;
	a.live = 1;
	next_dev += charge + DEVICE_GAP;
	allocs[nallocs++] = a;
	used_bytes += charge;
	pthread_mutex_unlock(&mu);
	*dptr = a.dev;
	cudasim_count("allocs", 1);
	cudasim_count("alloc_bytes", bytesize);
	return CUDA_SUCCESS;
}

/* The allocation with the largest base <= p, or NULL. Callers hold mu. */
static struct alloc *find(uint64_t p) {
	size_t lo = 0, hi = nallocs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (allocs[mid].dev <= p) lo = mid + 1;
		else hi = mid;
	}
	return lo == 0 ? NULL : &allocs[lo - 1];
}

static void release(struct alloc *a) {
	munmap(a->map, a->maplen);
	a->map = NULL;
	a->host = NULL;
	a->live = 0;
	used_bytes -= round_up(a->size, DEVICE_ALIGN);
}

/* cuMemFree_v2: frees memory from cuMemAlloc; a pointer that is not the
 * base of a live allocation is CUDA_ERROR_INVALID_VALUE. Like cudaFree, it
 * waits for queued work first, so no queued kernel sees the memory go. */
CS_API CUresult cuMemFree_v2(CUdeviceptr dptr) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	r = cs_capture_unsafe("cuMemFree_v2"); /* a potentially unsafe call during capture (stream.c) */
	if (r != CUDA_SUCCESS) return r;
	cs_drain();
	pthread_mutex_lock(&mu);
	struct alloc *a = find(dptr);
	if (a == NULL || a->dev != dptr || !a->live) {
		int freed = a != NULL && a->dev == dptr;
		pthread_mutex_unlock(&mu);
		cs_note("cuMemFree_v2(0x%llx): %s", dptr, freed ? "already freed" : "not the base of a device allocation");
		return CUDA_ERROR_INVALID_VALUE;
	}
	release(a);
	pthread_mutex_unlock(&mu);
	cudasim_count("frees", 1);
	return CUDA_SUCCESS;
}

void cs_memory_destroy_all(void) {
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nallocs; i++) {
		if (allocs[i].live) release(&allocs[i]);
	}
	pthread_mutex_unlock(&mu);
}

/* Why [p, p+bytes) is not inside a live allocation, in words. Callers hold mu. */
static void explain(uint64_t p, size_t bytes, char *buf, size_t len) {
	struct alloc *a = find(p);
	if (a != NULL && p < a->dev + a->size + DEVICE_GAP) {
		if (!a->live) {
			snprintf(buf, len, "0x%" PRIx64 " is in an allocation of %zu bytes at 0x%" PRIx64 " that was freed", p,
				a->size, a->dev);
		} else {
			snprintf(buf, len, "[0x%" PRIx64 ", +%zu) ends %" PRIu64 " bytes past the end of the allocation of %zu bytes at 0x%" PRIx64,
				p, bytes, p + bytes - (a->dev + a->size), a->size, a->dev);
		}
		return;
	}
	if (p < DEVICE_BASE) {
		snprintf(buf, len, "0x%" PRIx64 " is not a device address (a host pointer?)", p);
		return;
	}
	snprintf(buf, len, "0x%" PRIx64 " is in no device allocation", p);
}

/* A range is good when it lies inside one live allocation; an empty range
 * may also sit at an allocation's end, and NULL with 0 bytes is accepted
 * (an absent optional buffer). */
static char *lookup(uint64_t p, size_t bytes, char *why, size_t whylen) {
	if (p == 0 && bytes == 0) return NULL;
	pthread_mutex_lock(&mu);
	struct alloc *a = find(p);
	char *h = NULL;
	if (a != NULL && a->live && p + bytes >= p && p + bytes <= a->dev + a->size) {
		h = a->host + (p - a->dev);
	} else {
		explain(p, bytes, why, whylen);
	}
	pthread_mutex_unlock(&mu);
	return h;
}

CS_API int cudasim_check(cudasim_devptr p, size_t bytes, const char *call) {
	char why[256];
	if (p == 0 && bytes == 0) return 1;
	if (lookup(p, bytes, why, sizeof why) != NULL) {
		cs_hazard_declare_checked(p, bytes);
		return 1;
	}
	cudasim_fail(CUDASIM_ERROR_ILLEGAL_ADDRESS, call, "%s", why);
	return 0;
}

CS_API void *cudasim_host(cudasim_devptr p, size_t bytes, const char *call) {
	char why[256];
	if (p == 0 && bytes == 0) return NULL;
	void *h = lookup(p, bytes, why, sizeof why);
	if (h == NULL) cudasim_fail(CUDASIM_ERROR_ILLEGAL_ADDRESS, call, "%s", why);
	return h;
}

size_t cs_alloc_tail(uint64_t p) {
	pthread_mutex_lock(&mu);
	struct alloc *a = find(p);
	size_t n = a != NULL && a->live && p < a->dev + a->size ? a->dev + a->size - p : 0;
	pthread_mutex_unlock(&mu);
	return n;
}

void *cs_translate(uint64_t p, int *ok, char *why, size_t whylen) {
	*ok = 1;
	if (p == 0) return NULL;
	void *h = lookup(p, 0, why, whylen);
	if (h == NULL) *ok = 0;
	return h;
}

void cs_describe_host_fault(const void *addr, char *buf, size_t len) {
	const char *c = addr;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nallocs; i++) {
		struct alloc *a = &allocs[i];
		if (!a->live || c < (char *)a->map || c >= (char *)a->map + a->maplen) continue;
		/* The offset from the allocation's start: negative or >= size. */
		snprintf(buf, len, "access at offset %td of the allocation of %zu bytes at device address 0x%" PRIx64
			" (out of bounds)", c - a->host, a->size, a->dev);
		pthread_mutex_unlock(&mu);
		return;
	}
	pthread_mutex_unlock(&mu);
	snprintf(buf, len, "access to host address %p, outside every device allocation", addr);
}

/* cuMemHostAlloc: "Allocates bytesize bytes of host memory that is
 * page-locked and accessible to the device"; Flags are a combination of
 * CU_MEMHOSTALLOC_PORTABLE (1), DEVICEMAP (2) and WRITECOMBINED (4).
 * Only such memory may take part in an asynchronous copy (stream.c). */
CS_API CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	r = cs_capture_unsafe("cuMemHostAlloc"); /* a potentially unsafe call during capture (stream.c) */
	if (r != CUDA_SUCCESS) return r;
	if (pp == NULL || bytesize == 0 || (Flags & ~7u) != 0) return CUDA_ERROR_INVALID_VALUE;
	struct alloc a = {0};
	pthread_mutex_lock(&mu);
	grow(&pinned, &cappinned, npinned);
	if (!guarded(&a, bytesize)) {
		pthread_mutex_unlock(&mu);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	a.live = 1;
	pinned[npinned++] = a;
	pthread_mutex_unlock(&mu);
	*pp = a.host;
	cudasim_count("host_allocs", 1);
	return CUDA_SUCCESS;
}

/* cuMemFreeHost: "Frees the memory space pointed to by p, which must have
 * been returned by a previous call to cuMemHostAlloc". Queued copies that
 * read or write it finish first. */
CS_API CUresult cuMemFreeHost(void *p) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	r = cs_capture_unsafe("cuMemFreeHost"); /* a potentially unsafe call during capture (stream.c) */
	if (r != CUDA_SUCCESS) return r;
	cs_drain();
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < npinned; i++) {
		if (pinned[i].host == p) {
			munmap(pinned[i].map, pinned[i].maplen);
			pinned[i] = pinned[--npinned];
			pthread_mutex_unlock(&mu);
			cudasim_count("host_frees", 1);
			return CUDA_SUCCESS;
		}
	}
	pthread_mutex_unlock(&mu);
	cs_note("cuMemFreeHost(%p): not memory from cuMemHostAlloc", p);
	return CUDA_ERROR_INVALID_VALUE;
}

int cs_pinned(const void *p, size_t n) {
	const char *c = p;
	int ok = 0;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < npinned && !ok; i++) {
		ok = c >= pinned[i].host && c + n >= c && c + n <= pinned[i].host + pinned[i].size;
	}
	pthread_mutex_unlock(&mu);
	return ok;
}
