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
 * extern "C" __global__ function defined in src. Returns the number of
 * kernels, or -1 with a message in err. */
int cs_generate(const char *src, struct buf *out, char *err, size_t errlen);

#endif
