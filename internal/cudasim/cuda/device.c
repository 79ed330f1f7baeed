/*
 * device.c: initialisation, the one simulated device and its primary
 * context (CUDA Driver API reference: "Initialization", "Version
 * Management", "Device Management", "Primary Context Management",
 * "Context Management").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

/* The device's name says what it is, so nobody mistakes it for a card. */
static const char device_name[] = "cudasim (CPU simulator)";

static volatile int initialized;

int cs_initialized(void) { return __atomic_load_n(&initialized, __ATOMIC_ACQUIRE); }

/* Devices: CUDASIM_DEVICES=0 simulates a machine whose driver sees none. */
static int device_count(void) {
	const char *e = getenv("CUDASIM_DEVICES");
	return e != NULL && strcmp(e, "0") == 0 ? 0 : 1;
}

static void init_once(void) {
	cs_memory_init();
	cs_streams_init();
	cs_signals_init();
}

/* The compute capability, 10*major + minor: 9.0 unless CUDASIM_CC=M.m
 * (read once) says otherwise, e.g. 10.0 to play a device newer than the
 * NVRTC (CUDASIM_NVRTC_VERSION) knows. */
int cs_compute_capability(void) {
	static int cc;
	if (cc == 0) {
		const char *e = getenv("CUDASIM_CC");
		int major = 9, minor = 0;
		if (e != NULL && *e && (sscanf(e, "%d.%d", &major, &minor) != 2 || major < 1 || minor < 0 || minor > 9)) {
			fprintf(stderr, "cudasim: CUDASIM_CC=%s is not a compute capability M.m\n", e);
			abort();
		}
		cc = 10 * major + minor;
	}
	return cc;
}

/* cuInit: "Flags parameter must be 0"; returns CUDA_ERROR_NO_DEVICE when no
 * device is found. Every other call but cuDriverGetVersion and the error
 * strings returns CUDA_ERROR_NOT_INITIALIZED before it. */
CS_API CUresult cuInit(unsigned int Flags) {
	cs_count_api();
	if (Flags != 0) return CUDA_ERROR_INVALID_VALUE;
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_once);
	__atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
	if (device_count() == 0) return CUDA_ERROR_NO_DEVICE;
	return CUDA_SUCCESS;
}

/* cuDriverGetVersion: "the latest CUDA version supported by the driver",
 * 1000*major + 10*minor; may be called before cuInit. The simulator claims
 * CUDA 13.0, the major of the libraries it stands for. */
int cs_driver_version(void) { return 13000; }

CS_API CUresult cuDriverGetVersion(int *driverVersion) {
	cs_count_api();
	if (driverVersion == NULL) return CUDA_ERROR_INVALID_VALUE;
	*driverVersion = cs_driver_version();
	return CUDA_SUCCESS;
}

CS_API CUresult cuDeviceGetCount(int *count) {
	cs_count_api();
	if (!cs_initialized()) return CUDA_ERROR_NOT_INITIALIZED;
	if (count == NULL) return CUDA_ERROR_INVALID_VALUE;
	*count = device_count();
	return CUDA_SUCCESS;
}

/* cuDeviceGet: CUDA_ERROR_INVALID_DEVICE for an ordinal not in [0, count). */
CS_API CUresult cuDeviceGet(CUdevice *device, int ordinal) {
	cs_count_api();
	if (!cs_initialized()) return CUDA_ERROR_NOT_INITIALIZED;
	if (device == NULL) return CUDA_ERROR_INVALID_VALUE;
	if (ordinal < 0 || ordinal >= device_count()) return CUDA_ERROR_INVALID_DEVICE;
	*device = ordinal;
	return CUDA_SUCCESS;
}

static int valid_device(CUdevice d) { return d >= 0 && d < device_count(); }

/* cuDeviceGetName: "len specifies the maximum length of the string that may
 * be returned" (NUL-terminated, truncated to fit). */
CS_API CUresult cuDeviceGetName(char *name, int len, CUdevice dev) {
	cs_count_api();
	if (!cs_initialized()) return CUDA_ERROR_NOT_INITIALIZED;
	if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
	if (name == NULL || len <= 0) return CUDA_ERROR_INVALID_VALUE;
	snprintf(name, (size_t)len, "%s", device_name);
	return CUDA_SUCCESS;
}

/* cuDeviceGetAttribute: the CUdevice_attribute values are cuda.h's; the
 * values are an sm_90 part's limits (CUDA C++ Programming Guide, "Technical
 * Specifications per Compute Capability"), which the launch checks of
 * module.c enforce. An attribute the simulator does not model is
 * CUDA_ERROR_INVALID_VALUE, so that a new caller is noticed. */
CS_API CUresult cuDeviceGetAttribute(int *pi, unsigned int attrib, CUdevice dev) {
	cs_count_api();
	if (!cs_initialized()) return CUDA_ERROR_NOT_INITIALIZED;
	if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
	if (pi == NULL) return CUDA_ERROR_INVALID_VALUE;
	switch (attrib) {
	case 1: *pi = 1024; break;        /* MAX_THREADS_PER_BLOCK */
	case 2: *pi = 1024; break;        /* MAX_BLOCK_DIM_X */
	case 3: *pi = 1024; break;        /* MAX_BLOCK_DIM_Y */
	case 4: *pi = 64; break;          /* MAX_BLOCK_DIM_Z */
	case 5: *pi = 2147483647; break;  /* MAX_GRID_DIM_X */
	case 6: *pi = 65535; break;       /* MAX_GRID_DIM_Y */
	case 7: *pi = 65535; break;       /* MAX_GRID_DIM_Z */
	case 8: *pi = 48 * 1024; break;   /* MAX_SHARED_MEMORY_PER_BLOCK */
	case 10: *pi = 32; break;         /* WARP_SIZE */
	case 16: *pi = 1; break;          /* MULTIPROCESSOR_COUNT: one stream thread */
	case 75: *pi = cs_compute_capability() / 10; break; /* COMPUTE_CAPABILITY_MAJOR */
	case 76: *pi = cs_compute_capability() % 10; break; /* COMPUTE_CAPABILITY_MINOR */
	default:
		cs_note("cuDeviceGetAttribute: attribute %u is not simulated", attrib);
		return CUDA_ERROR_INVALID_VALUE;
	}
	return CUDA_SUCCESS;
}

/* cuDeviceTotalMem_v2: the simulated memory size (CUDASIM_MEMORY). */
CS_API CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev) {
	cs_count_api();
	if (!cs_initialized()) return CUDA_ERROR_NOT_INITIALIZED;
	if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
	if (bytes == NULL) return CUDA_ERROR_INVALID_VALUE;
	*bytes = cs_memory_total();
	return CUDA_SUCCESS;
}

/* The primary context ("Primary Context Management"): cuDevicePrimaryCtxRetain
 * creates it on first use and counts references; of cuDevicePrimaryCtxRelease
 * the reference says "The context is automatically reset once the last
 * reference to it is released", and a reset destroys everything allocated
 * in it. */
struct cs_ctx {
	int refs;
};
static struct cs_ctx primary;
static pthread_mutex_t ctx_mu = PTHREAD_MUTEX_INITIALIZER;
static __thread struct cs_ctx *current;

CS_API CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev) {
	cs_count_api();
	if (!cs_initialized()) return CUDA_ERROR_NOT_INITIALIZED;
	if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
	if (pctx == NULL) return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&ctx_mu);
	primary.refs++;
	pthread_mutex_unlock(&ctx_mu);
	*pctx = &primary;
	return CUDA_SUCCESS;
}

/* cuDevicePrimaryCtxRelease_v2: "Releasing a primary context that has not
 * been previously retained will fail with CUDA_ERROR_INVALID_CONTEXT". The last release destroys the context: queued
 * work is finished, device memory, streams and modules freed, and the
 * sticky error cleared (a new context starts clean, as after
 * cuDevicePrimaryCtxReset). Pinned host memory is left to cuMemFreeHost. */
CS_API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
	cs_count_api();
	if (!cs_initialized()) return CUDA_ERROR_NOT_INITIALIZED;
	if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
	pthread_mutex_lock(&ctx_mu);
	if (primary.refs == 0) {
		pthread_mutex_unlock(&ctx_mu);
		return CUDA_ERROR_INVALID_CONTEXT;
	}
	if (--primary.refs == 0) {
		cs_drain();
		cs_modules_destroy_all();
		cs_streams_destroy_all();
		cs_memory_destroy_all();
		cs_clear_sticky();
	}
	pthread_mutex_unlock(&ctx_mu);
	return CUDA_SUCCESS;
}

/* cuCtxSetCurrent: "Binds the specified CUDA context to the calling CPU
 * thread"; NULL unbinds. A destroyed context is CUDA_ERROR_INVALID_CONTEXT. */
CS_API CUresult cuCtxSetCurrent(CUcontext ctx) {
	cs_count_api();
	if (!cs_initialized()) return CUDA_ERROR_NOT_INITIALIZED;
	if (ctx == NULL) {
		current = NULL;
		return CUDA_SUCCESS;
	}
	pthread_mutex_lock(&ctx_mu);
	int ok = ctx == &primary && primary.refs > 0;
	pthread_mutex_unlock(&ctx_mu);
	if (!ok) return CUDA_ERROR_INVALID_CONTEXT;
	current = ctx;
	return CUDA_SUCCESS;
}

CUcontext cs_current_ctx(void) { return current; }

CUresult cs_enter_nosticky(void) {
	if (!cs_initialized()) return CUDA_ERROR_NOT_INITIALIZED;
	pthread_mutex_lock(&ctx_mu);
	int ok = current == &primary && primary.refs > 0;
	pthread_mutex_unlock(&ctx_mu);
	return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult cs_enter(void) {
	CUresult r = cs_enter_nosticky();
	if (r != CUDA_SUCCESS) return r;
	int s = cudasim_sticky();
	return s ? (CUresult)s : CUDA_SUCCESS;
}

/* cuMemGetInfo_v2: free and total memory of the current context's device. */
CS_API CUresult cuMemGetInfo_v2(size_t *free, size_t *total) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (free == NULL || total == NULL) return CUDA_ERROR_INVALID_VALUE;
	*total = cs_memory_total();
	*free = *total - cs_memory_used();
	return CUDA_SUCCESS;
}
