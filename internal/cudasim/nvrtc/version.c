/*
 * version.c: which NVRTC release the simulated library claims to be, and
 * what that release answers (nvrtc.h: nvrtcVersion, nvrtcGetSupportedArchs,
 * nvrtcGetErrorString; the option messages of nvrtcCompileProgram).
 *
 * CUDASIM_NVRTC_VERSION=M.m (read once, at the first call) picks a row
 * below; the default is 13.5. The 12.8 and 13.5 rows are measured: NVIDIA's
 * real libnvrtc.so.12 12.8.93 and libnvrtc.so.13 13.5.37 (PyPI wheels
 * nvidia-cuda-nvrtc-cu12 and nvidia-cuda-nvrtc) answered them, and
 * internal/cudasim/nvrtc_match_test.go compares the simulator with them
 * whenever DEEPRES_NVIDIA_STACK names such a folder. The 12.0-12.7 row is
 * derived, not measured: 12.8's list without sm_100, sm_101 and sm_120,
 * which CUDA 12.8 introduced (CUDA 12.8 release notes, "Blackwell"); 12.0
 * removed Kepler (sm_35, sm_37). A version in no row is refused, loudly:
 * the simulator does not guess what a release supports.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nvrtc.h"

static const int archs_12_0[] = {50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90, 0};
static const int archs_12_8[] = {50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90, 100, 101, 120, 0};
static const int archs_13_5[] = {75, 80, 86, 87, 88, 89, 90, 100, 103, 107, 110, 120, 121, 0};

static const struct cs_nvrtc_version rows[] = {
	/* major, minors, archs, default arch, last result code, --std message, a second -arch, deprecated below */
	{12, 0, 7, archs_12_0, 52, 16, "invalid value for --std (-std)", 0, 0, 0},
	{12, 8, 8, archs_12_8, 52, 16, "invalid value for --std (-std)", 0, 75, 0},
	{13, 5, 5, archs_13_5, 75, 18, "invalid value for --std(-std)", 1, 0, 0},
};

static struct cs_nvrtc_version current;

static void choose(void) {
	const char *e = getenv("CUDASIM_NVRTC_VERSION");
	int major = 13, minor = 5;
	if (e != NULL && *e != 0 && sscanf(e, "%d.%d", &major, &minor) != 2) major = -1;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (rows[i].major == major && minor >= rows[i].minor_lo && minor <= rows[i].minor_hi) {
			current = rows[i];
			current.minor = minor;
			return;
		}
	}
	fprintf(stderr, "cudasim: CUDASIM_NVRTC_VERSION=%s: no known NVRTC release (known: 12.0-12.7, 12.8, 13.5)\n", e);
	abort();
}

const struct cs_nvrtc_version *cs_nvrtc(void) {
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, choose);
	return &current;
}

int cs_nvrtc_supports(int arch) {
	for (const int *a = cs_nvrtc()->archs; *a; a++) {
		if (*a == arch) return 1;
	}
	return 0;
}
