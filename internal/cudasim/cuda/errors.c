/*
 * errors.c: CUresult names and descriptions, and the context's sticky error.
 *
 * CUDA Driver API reference, "Error Handling": cuGetErrorName and
 * cuGetErrorString return CUDA_ERROR_INVALID_VALUE and set *pStr to NULL for
 * an unrecognised code. The descriptions below are those of cuda.h.
 *
 * Sticky errors: cuda.h documents CUDA_ERROR_ILLEGAL_ADDRESS and
 * CUDA_ERROR_LAUNCH_FAILED as leaving "the process in an inconsistent state
 * and any further CUDA work will return the same error"; the context must be
 * destroyed. Here the first such error is kept until the primary context is
 * destroyed (its last cuDevicePrimaryCtxRelease).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core.h"

static const struct {
	CUresult code;
	const char *name, *desc;
} errors[] = {
	{0, "CUDA_SUCCESS", "no error"},
	{1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
	{2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
	{3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
	{4, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
	{46, "CUDA_ERROR_DEVICE_UNAVAILABLE", "CUDA-capable device(s) is/are busy or unavailable"},
	{100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
	{101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
	{200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
	{201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
	{209, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
	{218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
	{222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain."},
	{400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
	{401, "CUDA_ERROR_ILLEGAL_STATE", "the operation cannot be performed in the present state"},
	{500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
	{600, "CUDA_ERROR_NOT_READY", "device not ready"},
	{700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
	{701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
	{719, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
	{801, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
	{900, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", "operation not permitted when stream is capturing"},
	{901, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", "operation failed due to a previous error during capture"},
	{906, "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT", "operation would make the legacy stream depend on a capturing blocking stream"},
	{908, "CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD", "attempt to terminate a thread-local capture sequence from another thread"},
	{999, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

/* cuGetErrorName: "Gets the string representation of an error code enum name". */
CS_API CUresult cuGetErrorName(CUresult error, const char **pStr) {
	cs_count_api();
	if (pStr == NULL) return CUDA_ERROR_INVALID_VALUE;
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		if (errors[i].code == error) {
			*pStr = errors[i].name;
			return CUDA_SUCCESS;
		}
	}
	*pStr = NULL;
	return CUDA_ERROR_INVALID_VALUE;
}

/* cuGetErrorString: "Gets the string description of an error code". */
CS_API CUresult cuGetErrorString(CUresult error, const char **pStr) {
	cs_count_api();
	if (pStr == NULL) return CUDA_ERROR_INVALID_VALUE;
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		if (errors[i].code == error) {
			*pStr = errors[i].desc;
			return CUDA_SUCCESS;
		}
	}
	*pStr = NULL;
	return CUDA_ERROR_INVALID_VALUE;
}

static pthread_mutex_t sticky_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int sticky_code;
static char sticky_msg[1024];

CS_API int cudasim_sticky(void) { return __atomic_load_n(&sticky_code, __ATOMIC_ACQUIRE); }

const char *cs_sticky_message(void) { return sticky_msg; }

void cs_clear_sticky(void) {
	pthread_mutex_lock(&sticky_mu);
	__atomic_store_n(&sticky_code, 0, __ATOMIC_RELEASE);
	sticky_msg[0] = 0;
	pthread_mutex_unlock(&sticky_mu);
}

CS_API void cudasim_fail(int curesult, const char *call, const char *fmt, ...) {
	pthread_mutex_lock(&sticky_mu);
	if (sticky_code == 0) {
		const char *name = NULL;
		cuGetErrorName((CUresult)curesult, &name);
		int n = snprintf(sticky_msg, sizeof sticky_msg, "%s: %s: ", call, name ? name : "CUDA error");
		if (n > 0 && (size_t)n < sizeof sticky_msg) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(sticky_msg + n, sizeof sticky_msg - n, fmt, ap);
			va_end(ap);
		}
		fprintf(stderr, "cudasim: %s (sticky: every later call returns it)\n", sticky_msg);
		__atomic_store_n(&sticky_code, curesult, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&sticky_mu);
}

void cs_note(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fputs("cudasim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
