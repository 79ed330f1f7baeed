/* nvrtc.h: private declarations of the simulated libnvrtc.so.13. */
#ifndef CUDASIM_NVRTC_H
#define CUDASIM_NVRTC_H

#include <stddef.h>

extern const char cs_prelude[];

/* A growable string. */
struct buf {
	char *p;
	size_t n, cap;
};
void buf_add(struct buf *b, const char *s, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* gen.c: appends to out the launch trampolines and kernel table for every
 * extern "C" __global__ function defined in src, and to names (if not NULL)
 * each kernel's name and a newline. Returns the number of kernels, or -1
 * with a message in err. */
int cs_generate(const char *src, struct buf *out, struct buf *names, char *err, size_t errlen);

/* version.c: the NVRTC release the library claims (CUDASIM_NVRTC_VERSION)
 * and what that release answers. */
struct cs_nvrtc_version {
	int major, minor_lo, minor_hi;
	const int *archs;       /* nvrtcGetSupportedArchs, ascending, 0-terminated */
	int default_arch;       /* the compute_XY used without --gpu-architecture */
	int last_result;        /* the highest nvrtcResult nvrtcGetErrorString names */
	const char *std_invalid; /* the log's words for a bad --std value */
	int arch_twice_warns;   /* a second --gpu-architecture: 1 warns and wins, 0 is an error */
	int deprecated_below;   /* architectures below this one draw a warning (0: none) */
	int minor;              /* the minor actually claimed */
};
const struct cs_nvrtc_version *cs_nvrtc(void);
int cs_nvrtc_supports(int arch);

/* options.c: nvrtcCompileProgram's options, checked as the claimed release
 * checks them. */
struct cs_options {
	int arch;       /* XY of sm_XY / compute_XY; the release's default if none given */
	int virtual_arch; /* compute_XY: PTX only, no CUBIN */
	int verbose;    /* --ptxas-options=-v */
	char std[16];   /* the host compiler's -std= */
	int ndefines;
	char *defines[64]; /* -D options, for the host compiler */
};
/* Fills o from the options; returns 0 with NVRTC's message in log (and
 * *status NVRTC_ERROR_INVALID_OPTION or _INPUT) when one is refused.
 * Warnings go to log too. */
int cs_parse_options(int n, const char *const *opts, struct cs_options *o, struct buf *log, int *status);
void cs_options_free(struct cs_options *o);

#endif
