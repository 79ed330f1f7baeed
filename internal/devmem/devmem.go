// Package devmem gives the tests of deepres's library bindings (package
// cudnn) device memory on device 0's primary context — allocate, copy in,
// copy out, free — without the gpu package, which owns device memory in
// production. It calls the CUDA driver through gpu/cuda_shim.h's prototypes
// (checked against the real cuda.h by scripts/gpu/abi-check.c) and copies
// through pinned staging on the legacy default stream, so that it works
// against the simulator's strict mode (an asynchronous copy from pageable
// memory is refused there) as on a GPU.
package devmem

/*
#cgo CFLAGS: -I${SRCDIR}/../../gpu
#include <string.h>
#include "cuda_shim.h"

typedef struct {
	dr_pfn_cuInit cuInit;
	dr_pfn_cuDeviceGet cuDeviceGet;
	dr_pfn_cuDeviceGetName cuDeviceGetName;
	dr_pfn_cuDevicePrimaryCtxRetain cuDevicePrimaryCtxRetain;
	dr_pfn_cuCtxSetCurrent cuCtxSetCurrent;
	dr_pfn_cuMemAlloc_v2 cuMemAlloc_v2;
	dr_pfn_cuMemFree_v2 cuMemFree_v2;
	dr_pfn_cuMemHostAlloc cuMemHostAlloc;
	dr_pfn_cuMemFreeHost cuMemFreeHost;
	dr_pfn_cuMemcpyHtoDAsync_v2 cuMemcpyHtoDAsync_v2;
	dr_pfn_cuMemcpyDtoHAsync_v2 cuMemcpyDtoHAsync_v2;
	dr_pfn_cuStreamSynchronize cuStreamSynchronize;
} dm_api;
static dm_api dm;
static dm_api *dm_table(void) { return &dm; }

static dr_CUcontext dm_ctx;
static dr_CUdevice dm_dev;

static dr_CUresult dm_init(void) {
	dr_CUresult r = dm.cuInit(0);
	if (r == 0) r = dm.cuDeviceGet(&dm_dev, 0);
	if (r == 0) r = dm.cuDevicePrimaryCtxRetain(&dm_ctx, dm_dev);
	return r;
}
static dr_CUresult dm_name(char *name, int len) { return dm.cuDeviceGetName(name, len, dm_dev); }
static dr_CUresult dm_current(void) { return dm.cuCtxSetCurrent(dm_ctx); }
static dr_CUresult dm_alloc(unsigned long long *p, size_t n) {
	dr_CUdeviceptr d;
	dr_CUresult r = dm.cuMemAlloc_v2(&d, n);
	*p = (unsigned long long)d;
	return r;
}
static dr_CUresult dm_free(unsigned long long p) { return dm.cuMemFree_v2((dr_CUdeviceptr)p); }
static dr_CUresult dm_put(unsigned long long dst, const void *src, size_t n) {
	void *s;
	dr_CUresult r = dm.cuMemHostAlloc(&s, n, 0);
	if (r != 0) return r;
	memcpy(s, src, n);
	r = dm.cuMemcpyHtoDAsync_v2((dr_CUdeviceptr)dst, s, n, NULL);
	if (r == 0) r = dm.cuStreamSynchronize(NULL);
	dr_CUresult r2 = dm.cuMemFreeHost(s);
	return r ? r : r2;
}
static dr_CUresult dm_get(void *dst, unsigned long long src, size_t n) {
	void *s;
	dr_CUresult r = dm.cuMemHostAlloc(&s, n, 0);
	if (r != 0) return r;
	r = dm.cuMemcpyDtoHAsync_v2(s, (dr_CUdeviceptr)src, n, NULL);
	if (r == 0) r = dm.cuStreamSynchronize(NULL);
	if (r == 0) memcpy(dst, s, n);
	dr_CUresult r2 = dm.cuMemFreeHost(s);
	return r ? r : r2;
}
static dr_CUresult dm_sync(void) { return dm.cuStreamSynchronize(NULL); }
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/deepres/deepres/internal/dl"
)

var (
	once    sync.Once
	initErr error
)

func ptr[T any](field *T) *unsafe.Pointer { return (*unsafe.Pointer)(unsafe.Pointer(field)) }

func check(call string, r C.dr_CUresult) error {
	if r != 0 {
		return fmt.Errorf("devmem: %s: CUresult %d", call, int(r))
	}
	return nil
}

// Init loads libcuda.so.1 and retains device 0's primary context (once);
// not finding the library wraps dl.ErrNotFound.
func Init() error {
	once.Do(func() {
		h, err := dl.Open(dl.CUDA)
		if err != nil {
			initErr = err
			return
		}
		t := C.dm_table()
		initErr = h.Load([]dl.Symbol{
			{Name: "cuInit", Dst: ptr(&t.cuInit)},
			{Name: "cuDeviceGet", Dst: ptr(&t.cuDeviceGet)},
			{Name: "cuDeviceGetName", Dst: ptr(&t.cuDeviceGetName)},
			{Name: "cuDevicePrimaryCtxRetain", Dst: ptr(&t.cuDevicePrimaryCtxRetain)},
			{Name: "cuCtxSetCurrent", Dst: ptr(&t.cuCtxSetCurrent)},
			{Name: "cuMemAlloc_v2", Dst: ptr(&t.cuMemAlloc_v2)},
			{Name: "cuMemFree_v2", Dst: ptr(&t.cuMemFree_v2)},
			{Name: "cuMemHostAlloc", Dst: ptr(&t.cuMemHostAlloc)},
			{Name: "cuMemFreeHost", Dst: ptr(&t.cuMemFreeHost)},
			{Name: "cuMemcpyHtoDAsync_v2", Dst: ptr(&t.cuMemcpyHtoDAsync_v2)},
			{Name: "cuMemcpyDtoHAsync_v2", Dst: ptr(&t.cuMemcpyDtoHAsync_v2)},
			{Name: "cuStreamSynchronize", Dst: ptr(&t.cuStreamSynchronize)},
		})
		if initErr == nil {
			initErr = check("cuInit/cuDevicePrimaryCtxRetain", C.dm_init())
		}
	})
	return initErr
}

// DeviceName is device 0's name ("cudasim (CPU simulator)" under the
// simulator), after Init.
func DeviceName() (string, error) {
	var b [256]C.char
	if err := check("cuDeviceGetName", C.dm_name(&b[0], C.int(len(b)))); err != nil {
		return "", err
	}
	return C.GoString(&b[0]), nil
}

// MakeCurrent makes the primary context current on the calling OS thread
// (lock it with runtime.LockOSThread first).
func MakeCurrent() error { return check("cuCtxSetCurrent", C.dm_current()) }

// Alloc returns n bytes of device memory.
func Alloc(n int) (uint64, error) {
	var p C.ulonglong
	if err := check("cuMemAlloc_v2", C.dm_alloc(&p, C.size_t(n))); err != nil {
		return 0, err
	}
	return uint64(p), nil
}

// Free releases what Alloc returned.
func Free(p uint64) error { return check("cuMemFree_v2", C.dm_free(C.ulonglong(p))) }

// Put copies b to device address dst and waits for the copy.
func Put(dst uint64, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return check("cuMemcpyHtoDAsync_v2", C.dm_put(C.ulonglong(dst), unsafe.Pointer(&b[0]), C.size_t(len(b))))
}

// Get copies len(b) bytes from device address src into b, after the work
// queued before it on the legacy default stream.
func Get(b []byte, src uint64) error {
	if len(b) == 0 {
		return nil
	}
	return check("cuMemcpyDtoHAsync_v2", C.dm_get(unsafe.Pointer(&b[0]), C.ulonglong(src), C.size_t(len(b))))
}

// Sync waits for the legacy default stream (and reports a sticky error).
func Sync() error { return check("cuStreamSynchronize", C.dm_sync()) }
