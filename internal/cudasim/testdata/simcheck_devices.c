/*
 * simcheck_devices.c: several devices and their compute modes
 * (cuda/device.c), part of simcheck.c (included before its main). Run with
 * CUDASIM_DEVICES=3 CUDASIM_COMPUTE_MODES=default,exclusive-process,prohibited
 * and, for devices_busy, CUDASIM_BUSY=1.
 */
static CUresult (*cuDeviceGetCount)(int *);
static CUresult (*cuDeviceGetAttribute)(int *, unsigned, int);

static void load_devices(const char *dir) {
	void *cuda = open_lib(dir, "libcuda.so.1");
	SYM(cuda, cuDeviceGetCount);
	SYM(cuda, cuDeviceGetAttribute);
}

/* devices_check: three devices in the modes of the environment; the
 * prohibited one refuses a context, the exclusive-process one takes one
 * unless busy (another process holds it), the default one takes one. */
static void devices_check(int busy) {
	int n, mode;
	CU(cuInit(0));
	CU(cuDeviceGetCount(&n));
	if (n != 3) fail("%d devices, want 3 (CUDASIM_DEVICES=3)", n);
	static const int modes[] = {0, 3, 2}; /* CU_COMPUTEMODE_DEFAULT, _EXCLUSIVE_PROCESS, _PROHIBITED */
	for (int d = 0; d < 3; d++) {
		CU(cuDeviceGetAttribute(&mode, 20, d)); /* CU_DEVICE_ATTRIBUTE_COMPUTE_MODE */
		if (mode != modes[d]) fail("device %d: compute mode %d, want %d", d, mode, modes[d]);
	}
	EXPECT(cuDeviceGetAttribute(&mode, 20, 3), 101); /* CUDA_ERROR_INVALID_DEVICE */
	CUcontext c0, c1, c2;
	EXPECT(cuDevicePrimaryCtxRetain(&c2, 2), 999);                 /* CUDA_ERROR_UNKNOWN */
	EXPECT(cuDevicePrimaryCtxRetain(&c1, 1), busy ? 46 : 0);       /* CUDA_ERROR_DEVICE_UNAVAILABLE */
	CU(cuDevicePrimaryCtxRetain(&c0, 0));
	if (!busy) {
		if (c1 == c0) fail("devices 0 and 1 share a primary context");
		/* An exclusive-process device takes more references from its process. */
		CU(cuDevicePrimaryCtxRetain(&c1, 1));
		CU(cuDevicePrimaryCtxRelease_v2(1));
		/* Device 1's last release leaves device 0's context working. */
		CU(cuDevicePrimaryCtxRelease_v2(1));
		EXPECT(cuCtxSetCurrent(c1), 201); /* CUDA_ERROR_INVALID_CONTEXT */
	}
	CU(cuCtxSetCurrent(c0));
	CU(cuStreamCreate(&stream, 1));
	CUdeviceptr p;
	CU(cuMemAlloc_v2(&p, 4));
	CU(cuMemsetD32Async(p, 0, 1, stream));
	CU(cuStreamSynchronize(stream));
}

static void case_devices(void) { devices_check(0); }
static void case_devices_busy(void) { devices_check(1); }
