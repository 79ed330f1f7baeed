/*
 * cudnn_calls.c: drives every cuDNN 9 call that needs no handle (and no GPU)
 * with valid and invalid arguments, and prints one canonical line per call:
 *
 *     call(args) -> STATUS_NAME outputs
 *
 * Run once against NVIDIA's real libcudnn.so.9 (from the PyPI wheel) and once
 * against the simulator's, the two transcripts must be equal
 * (internal/cudasim/cudnn_real_test.go diffs them). Lines starting with '#'
 * are information (the actual version numbers), not compared.
 *
 *     cudnn_calls /path/to/libcudnn.so.9
 *
 * The library is dlopen'ed, so one binary serves both. Each case runs in a
 * forked child: a call that crashes one library prints CRASH for its case
 * instead of ending the transcript; each case starts with "== case N". Prototypes are cuDNN 9's (cudnn_graph.h,
 * cudnn_ops.h, cudnn_cnn.h of the cudnn wheel), written with plain types.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int st;
typedef void *TD, *FD, *CD, *AD;

static void *lib;

/* sym returns the library's function name, or NULL (the case prints MISSING). */
static void *sym(const char *name) { return dlsym(lib, name); }

#define FN(ret, name, ...) typedef ret (*name##_fn)(__VA_ARGS__);
FN(size_t, cudnnGetVersion, void)
FN(size_t, cudnnGetCudartVersion, void)
FN(st, cudnnGetProperty, int, int *)
FN(const char *, cudnnGetErrorString, st)
FN(st, cudnnCreateTensorDescriptor, TD *)
FN(st, cudnnDestroyTensorDescriptor, TD)
FN(st, cudnnSetTensor4dDescriptor, TD, int, int, int, int, int, int)
FN(st, cudnnGetTensor4dDescriptor, TD, int *, int *, int *, int *, int *, int *, int *, int *, int *)
FN(st, cudnnGetTensorSizeInBytes, TD, size_t *)
FN(st, cudnnSetTensor4dDescriptorEx, TD, int, int, int, int, int, int, int, int, int)
FN(st, cudnnSetTensorNdDescriptor, TD, int, int, const int *, const int *)
FN(st, cudnnGetTensorNdDescriptor, TD, int, int *, int *, int *, int *)
FN(st, cudnnCreateFilterDescriptor, FD *)
FN(st, cudnnDestroyFilterDescriptor, FD)
FN(st, cudnnSetFilter4dDescriptor, FD, int, int, int, int, int, int)
FN(st, cudnnGetFilter4dDescriptor, FD, int *, int *, int *, int *, int *, int *)
FN(st, cudnnSetFilterNdDescriptor, FD, int, int, int, const int *)
FN(st, cudnnGetFilterNdDescriptor, FD, int, int *, int *, int *, int *)
FN(st, cudnnGetFilterSizeInBytes, FD, size_t *)
FN(st, cudnnCreateConvolutionDescriptor, CD *)
FN(st, cudnnDestroyConvolutionDescriptor, CD)
FN(st, cudnnSetConvolution2dDescriptor, CD, int, int, int, int, int, int, int, int)
FN(st, cudnnGetConvolution2dDescriptor, CD, int *, int *, int *, int *, int *, int *, int *, int *)
FN(st, cudnnSetConvolutionNdDescriptor, CD, int, const int *, const int *, const int *, int, int)
FN(st, cudnnGetConvolutionNdDescriptor, CD, int, int *, int *, int *, int *, int *, int *)
FN(st, cudnnSetConvolutionMathType, CD, int)
FN(st, cudnnGetConvolutionMathType, CD, int *)
FN(st, cudnnGetConvolution2dForwardOutputDim, CD, TD, FD, int *, int *, int *, int *)
FN(st, cudnnGetConvolutionNdForwardOutputDim, CD, TD, FD, int, int *)
FN(st, cudnnCreateActivationDescriptor, AD *)
FN(st, cudnnDestroyActivationDescriptor, AD)
FN(st, cudnnSetActivationDescriptor, AD, int, int, double)
FN(st, cudnnGetActivationDescriptor, AD, int *, int *, double *)
FN(st, cudnnDeriveBNTensorDescriptor, TD, TD, int)
FN(st, cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize, void *, int, int, TD, TD, TD, TD, AD, size_t *)
FN(st, cudnnGetBatchNormalizationBackwardExWorkspaceSize, void *, int, int, TD, TD, TD, TD, TD, TD, AD, size_t *)
FN(st, cudnnGetBatchNormalizationTrainingExReserveSpaceSize, void *, int, int, AD, TD, size_t *)
FN(st, cudnnBatchNormalizationForwardTrainingEx, void *, int, int, const void *, const void *, TD, const void *, TD,
	const void *, TD, void *, TD, const void *, const void *, double, void *, void *, double, void *, void *, AD, void *,
	size_t, void *, size_t)
FN(st, cudnnBatchNormalizationBackwardEx, void *, int, int, const void *, const void *, const void *, const void *, TD,
	const void *, TD, const void *, TD, const void *, TD, void *, TD, void *, TD, const void *, const void *, void *, void *,
	double, const void *, const void *, AD, void *, size_t, void *, size_t)
#undef FN

/* F(name) is the library's name as a typed pointer; a missing one ends the
 * case with "MISSING". */
#define F(name)                                                                              \
	({                                                                                   \
		name##_fn f_ = (name##_fn)sym(#name);                                        \
		if (f_ == NULL) {                                                            \
			printf("%s -> MISSING\n", #name);                                    \
			fflush(stdout);                                                      \
			_exit(0);                                                            \
		}                                                                            \
		f_;                                                                          \
	})

/* The status names of cudnn_graph.h (cuDNN 9), written here so that the
 * transcript does not depend on the library's own cudnnGetErrorString. */
static const char *stname(st s)
{
	static char buf[32];
	switch (s) {
#define N(v, x) case v: return #x;
	N(0, SUCCESS) N(1001, NOT_INITIALIZED) N(1002, SUBLIBRARY_VERSION_MISMATCH)
	N(1003, SERIALIZATION_VERSION_MISMATCH) N(1004, DEPRECATED) N(1005, LICENSE_ERROR)
	N(1006, RUNTIME_IN_PROGRESS) N(1007, RUNTIME_FP_OVERFLOW) N(1008, SUBLIBRARY_LOADING_FAILED)
	N(2000, BAD_PARAM) N(2001, INVALID_VALUE) N(2002, BAD_PARAM_NULL_POINTER)
	N(2003, BAD_PARAM_MISALIGNED_POINTER) N(2004, BAD_PARAM_NOT_FINALIZED) N(2005, BAD_PARAM_OUT_OF_BOUND)
	N(2006, BAD_PARAM_SIZE_INSUFFICIENT) N(2007, BAD_PARAM_STREAM_MISMATCH) N(2008, BAD_PARAM_SHAPE_MISMATCH)
	N(2009, BAD_PARAM_DUPLICATED_ENTRIES) N(2010, BAD_PARAM_ATTRIBUTE_TYPE)
	N(2011, BAD_PARAM_CUDA_GRAPH_MISMATCH) N(2012, BAD_PARAM_DESCRIPTOR_TYPE)
	N(3000, NOT_SUPPORTED) N(3001, NOT_SUPPORTED_GRAPH_PATTERN) N(3002, NOT_SUPPORTED_SHAPE)
	N(3003, NOT_SUPPORTED_DATA_TYPE) N(3004, NOT_SUPPORTED_LAYOUT)
	N(3005, NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER) N(3006, NOT_SUPPORTED_INCOMPATIBLE_CUDART)
	N(3007, NOT_SUPPORTED_ARCH_MISMATCH) N(3008, NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING)
	N(3009, NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE) N(3010, NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT)
	N(3011, NOT_SUPPORTED_PADDING) N(3012, NOT_SUPPORTED_BAD_LAUNCH_PARAM)
	N(3013, NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API) N(4000, INTERNAL_ERROR)
	N(4001, INTERNAL_ERROR_COMPILATION_FAILED) N(4002, INTERNAL_ERROR_UNEXPECTED_VALUE)
	N(4003, INTERNAL_ERROR_HOST_ALLOCATION_FAILED) N(4004, INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
	N(4005, INTERNAL_ERROR_BAD_LAUNCH_PARAM) N(4006, INTERNAL_ERROR_TEXTURE_CREATION_FAILED)
	N(5000, EXECUTION_FAILED) N(5001, EXECUTION_FAILED_CUDA_DRIVER) N(5002, EXECUTION_FAILED_CUBLAS)
	N(5003, EXECUTION_FAILED_CUDART) N(5004, EXECUTION_FAILED_CURAND)
#undef N
	}
	snprintf(buf, sizeof buf, "status(%d)", s);
	return buf;
}

/* The line being built for the current call. */
static char line[1024];
static size_t pos;
static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pos += vsnprintf(line + pos, sizeof line - pos, fmt, ap);
	va_end(ap);
	if (pos >= sizeof line)
		pos = sizeof line - 1;
}
/* begin starts a call's line; end adds its status and prints the line. */
static void begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void begin(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pos = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	put(" -> ");
}
static st end(st s)
{
	put("%s", stname(s));
	return s;
}
static void flush_line(void)
{
	puts(line);
	fflush(stdout);
	pos = 0;
}

/* CASE runs body in a forked child; a child killed by a signal prints CRASH.
 * A case whose last call the real cuDNN (9.10.2, 9.28.1) answers with a
 * segmentation fault (a NULL pointer it does not check) sets may_crash
 * first: the test accepts a crash there only. */
static int ncases, may_crash;
#define CASE(...)                                                                            \
	do {                                                                                 \
		ncases++;                                                                    \
		printf("== case %d%s\n", ncases, may_crash ? " (may crash)" : "");          \
		may_crash = 0;                                                               \
		fflush(stdout);                                                              \
		pid_t pid_ = fork();                                                         \
		if (pid_ == 0) {                                                             \
			__VA_ARGS__;                                                              \
			fflush(stdout);                                                      \
			_exit(0);                                                            \
		}                                                                            \
		int ws_;                                                                     \
		waitpid(pid_, &ws_, 0);                                                      \
		if (WIFSIGNALED(ws_))                                                        \
			printf("CRASH signal %d\n", WTERMSIG(ws_));                          \
	} while (0)

/* ---- descriptors made for a case (in the child) ---- */

static TD new_tensor(void)
{
	TD d = NULL;
	begin("cudnnCreateTensorDescriptor(&d)");
	if (end(F(cudnnCreateTensorDescriptor)(&d)) != 0)
		flush_line(), _exit(0);
	pos = 0; /* a successful create is not printed: every case makes one */
	return d;
}
static FD new_filter(void)
{
	FD d = NULL;
	begin("cudnnCreateFilterDescriptor(&d)");
	if (end(F(cudnnCreateFilterDescriptor)(&d)) != 0)
		flush_line(), _exit(0);
	pos = 0;
	return d;
}
static CD new_conv(void)
{
	CD d = NULL;
	begin("cudnnCreateConvolutionDescriptor(&d)");
	if (end(F(cudnnCreateConvolutionDescriptor)(&d)) != 0)
		flush_line(), _exit(0);
	pos = 0;
	return d;
}
static AD new_act(void)
{
	AD d = NULL;
	begin("cudnnCreateActivationDescriptor(&d)");
	if (end(F(cudnnCreateActivationDescriptor)(&d)) != 0)
		flush_line(), _exit(0);
	pos = 0;
	return d;
}

static st set_tensor(TD d, int fmt, int dt, int n, int c, int h, int w)
{
	begin("cudnnSetTensor4dDescriptor(fmt=%d, dtype=%d, %d,%d,%d,%d)", fmt, dt, n, c, h, w);
	st s = end(F(cudnnSetTensor4dDescriptor)(d, fmt, dt, n, c, h, w));
	flush_line();
	return s;
}
static void get_tensor(TD d, const char *what)
{
	int dt = -99, n = -99, c = -99, h = -99, w = -99, ns = -99, cs = -99, hs = -99, ws = -99;
	begin("cudnnGetTensor4dDescriptor(%s)", what);
	if (end(F(cudnnGetTensor4dDescriptor)(d, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws)) == 0)
		put(" dtype=%d dims=%d,%d,%d,%d strides=%d,%d,%d,%d", dt, n, c, h, w, ns, cs, hs, ws);
	flush_line();
	size_t sz = 12345;
	begin("cudnnGetTensorSizeInBytes(%s)", what);
	if (end(F(cudnnGetTensorSizeInBytes)(d, &sz)) == 0)
		put(" size=%zu", sz);
	flush_line();
}
static st set_filter(FD d, int dt, int fmt, int k, int c, int h, int w)
{
	begin("cudnnSetFilter4dDescriptor(dtype=%d, fmt=%d, %d,%d,%d,%d)", dt, fmt, k, c, h, w);
	st s = end(F(cudnnSetFilter4dDescriptor)(d, dt, fmt, k, c, h, w));
	flush_line();
	return s;
}
static void get_filter(FD d, const char *what)
{
	int dt = -99, fmt = -99, k = -99, c = -99, h = -99, w = -99;
	begin("cudnnGetFilter4dDescriptor(%s)", what);
	if (end(F(cudnnGetFilter4dDescriptor)(d, &dt, &fmt, &k, &c, &h, &w)) == 0)
		put(" dtype=%d fmt=%d dims=%d,%d,%d,%d", dt, fmt, k, c, h, w);
	flush_line();
	size_t sz = 12345;
	begin("cudnnGetFilterSizeInBytes(%s)", what);
	if (end(F(cudnnGetFilterSizeInBytes)(d, &sz)) == 0)
		put(" size=%zu", sz);
	flush_line();
}
static void get_filter_nd(FD d, int requested, const char *what)
{
	int dt = -99, fmt = -99, nb = -99, dims[10];
	for (int i = 0; i < 10; i++)
		dims[i] = -99;
	begin("cudnnGetFilterNdDescriptor(%d, %s)", requested, what);
	if (end(F(cudnnGetFilterNdDescriptor)(d, requested, &dt, &fmt, &nb, dims)) == 0) {
		put(" dtype=%d fmt=%d nbDims=%d dims=", dt, fmt, nb);
		for (int i = 0; i < 10; i++)
			put(i ? ",%d" : "%d", dims[i]);
	}
	flush_line();
}
static st set_filter_nd(FD d, int dt, int fmt, int nb, const int *dims)
{
	pos = 0;
	put("cudnnSetFilterNdDescriptor(dtype=%d, fmt=%d, nbDims=%d, dims=", dt, fmt, nb);
	for (int i = 0; i < nb && i < 10 && dims; i++)
		put(i ? ",%d" : "%d", dims[i]);
	put(") -> ");
	st s = end(F(cudnnSetFilterNdDescriptor)(d, dt, fmt, nb, dims));
	flush_line();
	return s;
}
static st set_conv(CD d, int ph, int pw, int u, int v, int dh, int dw, int mode, int ct)
{
	begin("cudnnSetConvolution2dDescriptor(pad=%d,%d stride=%d,%d dil=%d,%d mode=%d compute=%d)", ph, pw, u, v, dh, dw,
		mode, ct);
	st s = end(F(cudnnSetConvolution2dDescriptor)(d, ph, pw, u, v, dh, dw, mode, ct));
	flush_line();
	return s;
}
static void get_conv(CD d, const char *what)
{
	int ph = -99, pw = -99, u = -99, v = -99, dh = -99, dw = -99, mode = -99, ct = -99, math = -99;
	begin("cudnnGetConvolution2dDescriptor(%s)", what);
	if (end(F(cudnnGetConvolution2dDescriptor)(d, &ph, &pw, &u, &v, &dh, &dw, &mode, &ct)) == 0)
		put(" pad=%d,%d stride=%d,%d dil=%d,%d mode=%d compute=%d", ph, pw, u, v, dh, dw, mode, ct);
	flush_line();
	begin("cudnnGetConvolutionMathType(%s)", what);
	if (end(F(cudnnGetConvolutionMathType)(d, &math)) == 0)
		put(" math=%d", math);
	flush_line();
}
static void get_conv_nd(CD d, int requested, const char *what)
{
	int len = -99, pad[8], str[8], dil[8], mode = -99, ct = -99;
	for (int i = 0; i < 8; i++)
		pad[i] = str[i] = dil[i] = -99;
	begin("cudnnGetConvolutionNdDescriptor(%d, %s)", requested, what);
	if (end(F(cudnnGetConvolutionNdDescriptor)(d, requested, &len, pad, str, dil, &mode, &ct)) == 0) {
		put(" len=%d mode=%d compute=%d pad=", len, mode, ct);
		for (int i = 0; i < 8; i++)
			put(i ? ",%d" : "%d", pad[i]);
		put(" stride=");
		for (int i = 0; i < 8; i++)
			put(i ? ",%d" : "%d", str[i]);
		put(" dil=");
		for (int i = 0; i < 8; i++)
			put(i ? ",%d" : "%d", dil[i]);
	}
	flush_line();
}
static st set_conv_nd(CD d, int len, const int *pad, const int *str, const int *dil, int mode, int ct)
{
	pos = 0;
	put("cudnnSetConvolutionNdDescriptor(len=%d, pad=", len);
	for (int i = 0; i < len && i < 8 && pad; i++)
		put(i ? ",%d" : "%d", pad[i]);
	put(" stride=");
	for (int i = 0; i < len && i < 8 && str; i++)
		put(i ? ",%d" : "%d", str[i]);
	put(" dil=");
	for (int i = 0; i < len && i < 8 && dil; i++)
		put(i ? ",%d" : "%d", dil[i]);
	put(" mode=%d compute=%d) -> ", mode, ct);
	st s = end(F(cudnnSetConvolutionNdDescriptor)(d, len, pad, str, dil, mode, ct));
	flush_line();
	return s;
}
static void out_dim_nd(CD cd, TD td, FD fd, int nb, const char *what)
{
	int d[10];
	for (int i = 0; i < 10; i++)
		d[i] = -99;
	begin("cudnnGetConvolutionNdForwardOutputDim(nbDims=%d, %s)", nb, what);
	if (end(F(cudnnGetConvolutionNdForwardOutputDim)(cd, td, fd, nb, d)) == 0) {
		put(" dims=");
		for (int i = 0; i < 10; i++)
			put(i ? ",%d" : "%d", d[i]);
	}
	flush_line();
}
static void out_dim(CD cd, TD td, FD fd, const char *what)
{
	int n = -99, c = -99, h = -99, w = -99;
	begin("cudnnGetConvolution2dForwardOutputDim(%s)", what);
	if (end(F(cudnnGetConvolution2dForwardOutputDim)(cd, td, fd, &n, &c, &h, &w)) == 0)
		put(" dims=%d,%d,%d,%d", n, c, h, w);
	flush_line();
	out_dim_nd(cd, td, fd, 4, what);
}
static void get_act(AD d, const char *what, int show_coef)
{
	int mode = -99, nan_ = -99;
	double coef = -99;
	begin("cudnnGetActivationDescriptor(%s)", what);
	if (end(F(cudnnGetActivationDescriptor)(d, &mode, &nan_, &coef)) == 0)
	{
		put(" mode=%d nan=%d", mode, nan_);
		if (show_coef)
			put(" coef=%.17g", coef);
	}
	flush_line();
}

/* ---- the cases ---- */

static void versions(void)
{
	CASE({
		size_t v = F(cudnnGetVersion)();
		printf("# cudnnGetVersion() = %zu\n", v);
		/* cudnn_version.h: CUDNN_VERSION = MAJOR*10000 + MINOR*100 + PATCH from 9.0 on. */
		printf("cudnnGetVersion() -> major=%zu\n", v / 10000);
		int p[3] = {-1, -1, -1};
		for (int i = 0; i < 3; i++) {
			begin("cudnnGetProperty(%d)", i);
			end(F(cudnnGetProperty)(i, &p[i]));
			flush_line();
		}
		printf("cudnnGetProperty(0..2) -> %s\n",
			(size_t)(p[0] * 10000 + p[1] * 100 + p[2]) == v && p[1] < 100 && p[2] < 100 ? "agrees with cudnnGetVersion" : "disagrees");
		int x = -7;
		begin("cudnnGetProperty(3)");
		end(F(cudnnGetProperty)(3, &x));
		flush_line();
		begin("cudnnGetProperty(-1)");
		end(F(cudnnGetProperty)(-1, &x));
		flush_line();
		begin("cudnnGetProperty(0, NULL)");
		end(F(cudnnGetProperty)(0, NULL));
		flush_line();
	});
	CASE({
		size_t v = F(cudnnGetCudartVersion)();
		printf("# cudnnGetCudartVersion() = %zu\n", v);
		/* CUDART_VERSION = major*1000 + minor*10 (cuda_runtime_api.h). */
		printf("cudnnGetCudartVersion() -> %s\n", v >= 12000 && v < 14000 && v % 10 == 0 ? "CUDA 12 or 13, major*1000+minor*10" : "unexpected");
	});
}

static void error_strings(void)
{
	static const int codes[] = {
		0, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008,
		2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008, 2009, 2010, 2011, 2012,
		3000, 3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008, 3009, 3010, 3011, 3012, 3013,
		4000, 4001, 4002, 4003, 4004, 4005, 4006,
		5000, 5001, 5002, 5003, 5004,
		/* unknown codes: below, between and past the groups, cuDNN 8's old numbers */
		-1, 1, 2, 3, 14, 999, 1009, 1999, 2013, 2999, 3014, 3999, 4007, 4999, 5005, 6000, 9999, 100000, 0x7fffffff,
	};
	/* Codes added after 9.0 (cudnn_graph.h of 9.28.1, "@since"): a library
	 * older than the code does not know it, so the line carries the version
	 * and the test compares it only where both libraries are that new. */
	static const struct {
		int code, since;
	} newer[] = {{1008, 90200}, {2011, 90500}, {2012, 90600}, {3013, 90500}, {3014, 91800}};
	CASE({
		for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
			const char *s = F(cudnnGetErrorString)(codes[i]);
			int since = 0;
			for (size_t j = 0; j < sizeof newer / sizeof newer[0]; j++)
				if (newer[j].code == codes[i])
					since = newer[j].since;
			if (since != 0)
				printf("cudnnGetErrorString(%d) [since %d] -> %s\n", codes[i], since, s ? s : "(NULL)");
			else
				printf("cudnnGetErrorString(%d) -> %s\n", codes[i], s ? s : "(NULL)");
		}
	});
}

static void tensors(void)
{
	/* Every format and data type (the enums' ranges and just past them),
	 * with a valid shape. */
	for (int fmt = -1; fmt <= 3; fmt++)
		for (int dt = -1; dt <= 16; dt++)
			CASE({
				TD d = new_tensor();
				if (set_tensor(d, fmt, dt, 2, 8, 3, 5) == 0)
					get_tensor(d, "set");
			});
	/* Each dimension through negative, zero, one and large values. */
	static const int vals[] = {-5, -1, 0, 1, 2, 7, 46341, 65536, 2147483647};
	for (int which = 0; which < 4; which++)
		for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
			for (int fmt = 0; fmt <= 1; fmt++)
				CASE({
					int dims[4] = {2, 3, 4, 5};
					dims[which] = vals[i];
					TD d = new_tensor();
					if (set_tensor(d, fmt, 0, dims[0], dims[1], dims[2], dims[3]) == 0)
						get_tensor(d, "set");
				});
	/* Totals around 2^31 elements (the documented 2 Giga-element limit). */
	static const int big[][4] = {
		{1024, 1024, 1024, 2}, {1024, 1024, 1024, 1}, {1, 1, 46340, 46340}, {1, 1, 46341, 46341},
		{2, 1, 1, 1073741824}, {1, 2, 1, 1073741823}, {2147483647, 1, 1, 1}, {65536, 65536, 1, 1},
		{3, 715827882, 1, 1}, {3, 715827883, 1, 1},
	};
	for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
		for (int dt = 0; dt <= 2; dt++)
			CASE({
				TD d = new_tensor();
				if (set_tensor(d, 0, dt, big[i][0], big[i][1], big[i][2], big[i][3]) == 0)
					get_tensor(d, "set");
			});
	/* NCHW_VECT_C: channels in vectors of the data type's width. */
	static const int vchan[] = {1, 3, 4, 6, 8, 32, 64};
	for (size_t i = 0; i < sizeof vchan / sizeof vchan[0]; i++)
		for (int dt = 5; dt <= 8; dt++)
			CASE({
				TD d = new_tensor();
				if (set_tensor(d, 2, dt, 2, vchan[i], 3, 5) == 0)
					get_tensor(d, "set");
			});
	/* A created, never set descriptor; a failed set after a good one. */
	CASE({
		TD d = new_tensor();
		get_tensor(d, "never set");
	});
	CASE({
		TD d = new_tensor();
		set_tensor(d, 0, 0, 2, 3, 4, 5);
		set_tensor(d, 0, 0, 2, -3, 4, 5);
		get_tensor(d, "after a failed set");
		set_tensor(d, 1, 2, 6, 7, 8, 9);
		get_tensor(d, "reset");
	});
	/* NULL pointers. */
	CASE({
		begin("cudnnCreateTensorDescriptor(NULL)");
		end(F(cudnnCreateTensorDescriptor)(NULL));
		flush_line();
	});
	CASE({
		begin("cudnnDestroyTensorDescriptor(NULL)");
		end(F(cudnnDestroyTensorDescriptor)(NULL));
		flush_line();
	});
	CASE({
		TD d = new_tensor();
		begin("cudnnDestroyTensorDescriptor(d)");
		end(F(cudnnDestroyTensorDescriptor)(d));
		flush_line();
	});
	CASE(set_tensor(NULL, 0, 0, 1, 1, 1, 1));
	CASE(get_tensor(NULL, "NULL descriptor"));
	may_crash = 1;
	CASE({
		TD d = new_tensor();
		set_tensor(d, 0, 0, 2, 3, 4, 5);
		int x;
		begin("cudnnGetTensor4dDescriptor(d, NULL outputs)");
		end(F(cudnnGetTensor4dDescriptor)(d, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
		flush_line();
		begin("cudnnGetTensor4dDescriptor(d, NULL dtype only)");
		end(F(cudnnGetTensor4dDescriptor)(d, NULL, &x, &x, &x, &x, &x, &x, &x, &x));
		flush_line();
		begin("cudnnGetTensorSizeInBytes(d, NULL)");
		end(F(cudnnGetTensorSizeInBytes)(d, NULL));
		flush_line();
	});
}

static void get_tensor_nd(TD d, int requested, const char *what)
{
	int dt = -99, nb = -99, dims[10], strides[10];
	for (int i = 0; i < 10; i++)
		dims[i] = strides[i] = -99;
	begin("cudnnGetTensorNdDescriptor(%d, %s)", requested, what);
	if (end(F(cudnnGetTensorNdDescriptor)(d, requested, &dt, &nb, dims, strides)) == 0) {
		put(" dtype=%d nbDims=%d dims=", dt, nb);
		for (int i = 0; i < 10; i++)
			put(i ? ",%d" : "%d", dims[i]);
		put(" strides=");
		for (int i = 0; i < 10; i++)
			put(i ? ",%d" : "%d", strides[i]);
	}
	flush_line();
}

static st set_tensor_ex(TD d, int dt, const int v[8])
{
	begin("cudnnSetTensor4dDescriptorEx(dtype=%d, %d,%d,%d,%d strides %d,%d,%d,%d)", dt, v[0], v[1], v[2], v[3], v[4], v[5],
		v[6], v[7]);
	st s = end(F(cudnnSetTensor4dDescriptorEx)(d, dt, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]));
	flush_line();
	return s;
}

static st set_tensor_nd(TD d, int dt, int nb, const int *dims, const int *strides)
{
	pos = 0;
	put("cudnnSetTensorNdDescriptor(dtype=%d, nbDims=%d, dims=", dt, nb);
	for (int i = 0; i < nb && i < 10 && dims; i++)
		put(i ? ",%d" : "%d", dims[i]);
	put(" strides=");
	for (int i = 0; i < nb && i < 10 && strides; i++)
		put(i ? ",%d" : "%d", strides[i]);
	put(") -> ");
	st s = end(F(cudnnSetTensorNdDescriptor)(d, dt, nb, dims, strides));
	flush_line();
	return s;
}

/* Strided 4-d tensors (cudnnSetTensor4dDescriptorEx) and N-d tensors
 * (cudnnSetTensorNdDescriptor): packed, padded, permuted, overlapping,
 * zero and negative strides; nbDims through its range. */
static void strided(void)
{
	static const int ex[][8] = {
		{2, 3, 4, 5, 60, 20, 5, 1},   /* packed NCHW */
		{2, 3, 4, 5, 60, 1, 15, 3},   /* packed NHWC */
		{2, 3, 4, 5, 100, 30, 6, 1},  /* padded rows and planes */
		{2, 3, 4, 5, 1, 2, 6, 24},    /* fully reversed order */
		{2, 3, 4, 5, 20, 5, 1, 60},   /* w outermost */
		{2, 3, 4, 5, 60, 20, 5, 2},   /* gaps */
		{2, 3, 4, 5, 10, 20, 5, 1},   /* overlapping images */
		{2, 3, 4, 5, 60, 20, 4, 1},   /* overlapping rows */
		{2, 3, 4, 5, 0, 0, 0, 0},
		{2, 3, 4, 5, 0, 20, 5, 1},
		{2, 3, 4, 5, 60, 0, 5, 1},
		{2, 3, 4, 5, 60, 20, 0, 1},
		{2, 3, 4, 5, 60, 20, 5, 0},
		{1, 3, 4, 5, 0, 20, 5, 1},    /* zero stride of a dimension of 1 */
		{2, 1, 4, 5, 20, 0, 5, 1},
		{1, 1, 1, 1, 7, 9, 3, 0},
		{1, 1, 1, 1, 0, 0, 0, 0},
		{2, 3, 4, 5, -60, 20, 5, 1},
		{2, 3, 4, 5, 60, -20, 5, 1},
		{2, 3, 4, 5, 60, 20, 5, -1},
		{2, 3, 4, 5, 60, 20, -5, 1},
		{0, 3, 4, 5, 60, 20, 5, 1},
		{2, -3, 4, 5, 60, 20, 5, 1},
		{2, 3, 4, 5, 2147483647, 20, 5, 1},
		{1024, 1024, 1024, 2, 2097152, 2048, 2, 1},
		{1, 1, 65536, 65536, 1, 1, 65536, 1},
		{2, 1, 1, 1, 1, 1, 1, 1},
		{2, 3, 1, 1, 1, 2, 1, 1},
	};
	for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++)
		for (int dt = 0; dt <= 2; dt += 2)
			CASE({
				TD d = new_tensor();
				if (set_tensor_ex(d, dt, ex[i]) == 0) {
					get_tensor(d, "ex");
					get_tensor_nd(d, 8, "ex");
				}
			});
	for (int dt = -1; dt <= 11; dt++)
		CASE({
			TD d = new_tensor();
			static const int v[8] = {2, 8, 3, 5, 120, 15, 5, 1};
			if (set_tensor_ex(d, dt, v) == 0)
				get_tensor(d, "ex");
		});
	/* nbDims through its range (CUDNN_DIM_MAX is 8), packed strides. */
	for (int nb = -1; nb <= 10; nb++)
		CASE({
			int dims[10] = {2, 3, 4, 5, 2, 3, 2, 2, 2, 2}, strides[10];
			long p = 1;
			for (int k = (nb < 10 ? nb : 10) - 1; k >= 0; k--)
				strides[k] = (int)p, p *= dims[k];
			TD d = new_tensor();
			if (set_tensor_nd(d, 0, nb, dims, strides) == 0) {
				get_tensor(d, "nd");
				for (int q = -1; q <= 9; q += 2)
					get_tensor_nd(d, q, "nd");
			}
		});
	/* N-d with bad dimensions or strides, and NULL arrays. */
	static const int nd[][10] = {
		/* nbDims, dims..., strides... (4-d) */
		{4, 2, 3, 4, 5, 60, 20, 5, 1},
		{4, 2, 3, 4, 5, 1, 2, 6, 24},
		{4, 2, 0, 4, 5, 60, 20, 5, 1},
		{4, 2, -3, 4, 5, 60, 20, 5, 1},
		{4, 2, 3, 4, 5, 60, 20, 5, 0},
		{4, 2, 3, 4, 5, 60, 20, 0, 1},
		{4, 2, 3, 4, 5, 10, 20, 5, 1},
		{4, 2, 3, 4, 5, -60, 20, 5, 1},
		{4, 1, 3, 4, 5, 0, 20, 5, 1},
		{4, 65536, 65536, 1, 1, 65536, 1, 1, 1},
		{4, 2, 1, 1, 1073741823, 1073741823, 1073741823, 1073741823, 1},
		{3, 2, 3, 4, 12, 4, 1},
		{3, 2, 3, 4, 1, 2, 6},
		{3, 2, 3, 4, 12, 4, 2},
		{2, 6, 7, 7, 1},
		{2, 6, 7, 1, 6},
		{2, 6, 7, 8, 1},
	};
	for (size_t i = 0; i < sizeof nd / sizeof nd[0]; i++)
		for (int dt = 0; dt <= 1; dt++)
			CASE({
				int nb = nd[i][0];
				TD d = new_tensor();
				if (set_tensor_nd(d, dt, nb, &nd[i][1], &nd[i][1 + nb]) == 0) {
					get_tensor(d, "nd");
					get_tensor_nd(d, 8, "nd");
				}
			});
	for (int dt = -1; dt <= 11; dt++)
		CASE({
			static const int dims[4] = {2, 8, 3, 5}, strides[4] = {120, 15, 5, 1};
			TD d = new_tensor();
			if (set_tensor_nd(d, dt, 4, dims, strides) == 0)
				get_tensor(d, "nd");
		});
	CASE({
		static const int dims[4] = {2, 3, 4, 5}, strides[4] = {60, 20, 5, 1};
		set_tensor_nd(NULL, 0, 4, dims, strides);
		set_tensor_ex(NULL, 0, (const int[8]){2, 3, 4, 5, 60, 20, 5, 1});
		get_tensor_nd(NULL, 4, "NULL descriptor");
	});
	may_crash = 1;
	CASE({
		static const int strides[4] = {60, 20, 5, 1};
		TD d = new_tensor();
		set_tensor_nd(d, 0, 4, NULL, strides);
	});
	may_crash = 1;
	CASE({
		static const int dims[4] = {2, 3, 4, 5};
		TD d = new_tensor();
		set_tensor_nd(d, 0, 4, dims, NULL);
	});
	/* What each kind of failed Ex or Nd set leaves in a descriptor set
	 * before (to values the failed call does not have). */
	static const int bad_ex[][9] = {
		/* dtype, dims, strides */
		{10, 2, 3, 4, 5, 60, 20, 5, 1},
		{0, 2, 0, 4, 5, 60, 20, 5, 1},
		{0, 2, 3, 4, 5, 60, 20, 5, 0},
		{0, 2, 3, 4, 5, 0, 20, 5, 1},
		{0, 2, 3, 4, 5, 2147483647, 20, 5, 1},
		{1, 1024, 1024, 1024, 2, 2097152, 2048, 2, 1},
	};
	for (size_t i = 0; i < sizeof bad_ex / sizeof bad_ex[0]; i++)
		for (int nd_ = 0; nd_ <= 1; nd_++)
			CASE({
				TD d = new_tensor();
				set_tensor(d, 2, 5, 6, 8, 7, 9);
				if (nd_)
					set_tensor_nd(d, bad_ex[i][0], 4, &bad_ex[i][1], &bad_ex[i][5]);
				else
					set_tensor_ex(d, bad_ex[i][0], &bad_ex[i][1]);
				get_tensor(d, "after a failed set");
				get_tensor_nd(d, 8, "after a failed set");
			});
	for (int nb = -1; nb <= 9; nb += 10)
		CASE({
			static const int dims[9] = {2, 3, 4, 5, 2, 2, 2, 2, 2}, strides[9] = {960, 320, 80, 16, 8, 4, 2, 1, 1};
			TD d = new_tensor();
			set_tensor(d, 2, 5, 6, 8, 7, 9);
			set_tensor_nd(d, 2, nb, dims, strides);
			get_tensor_nd(d, 8, "after a failed set");
		});
	CASE({
		TD d = new_tensor();
		get_tensor_nd(d, 4, "never set");
		set_tensor(d, 1, 0, 2, 3, 4, 5);
		get_tensor_nd(d, 4, "NHWC from the 4-d setter");
		set_tensor(d, 2, 5, 2, 8, 4, 5);
		get_tensor_nd(d, 4, "NCHW_VECT_C from the 4-d setter");
		set_tensor_ex(d, 0, (const int[8]){2, 3, 4, 5, 60, 20, 5, 0});
		get_tensor_nd(d, 4, "after a failed Ex");
	});
	/* A strided x in the calls that read descriptors: the output shape and
	 * the batch-norm derivation. */
	static const int xs[][8] = {{2, 3, 8, 8, 192, 64, 8, 1}, {2, 3, 8, 8, 192, 1, 24, 3}, {2, 3, 8, 8, 300, 100, 10, 1}};
	for (size_t i = 0; i < 3; i++)
		CASE({
			TD x = new_tensor();
			FD w = new_filter();
			CD c = new_conv();
			TD bn = new_tensor();
			set_tensor_ex(x, 0, xs[i]);
			set_filter(w, 0, 0, 4, 3, 3, 3);
			set_conv(c, 1, 1, 1, 1, 1, 1, 1, 0);
			out_dim(c, x, w, "strided x");
			begin("cudnnDeriveBNTensorDescriptor(strided x, mode=1)");
			end(F(cudnnDeriveBNTensorDescriptor)(bn, x, 1));
			flush_line();
			get_tensor(bn, "derived");
		});
	for (int nb = 2; nb <= 5; nb += 1)
		CASE({
			int dims[5] = {2, 3, 8, 8, 8}, strides[5];
			long p = 1;
			for (int k = nb - 1; k >= 0; k--)
				strides[k] = (int)p, p *= dims[k];
			TD x = new_tensor();
			FD w = new_filter();
			CD c = new_conv();
			TD bn = new_tensor();
			set_tensor_nd(x, 0, nb, dims, strides);
			set_filter(w, 0, 0, 4, 3, 3, 3);
			set_conv(c, 1, 1, 1, 1, 1, 1, 1, 0);
			out_dim(c, x, w, "N-d x");
			begin("cudnnDeriveBNTensorDescriptor(N-d x, mode=1)");
			if (end(F(cudnnDeriveBNTensorDescriptor)(bn, x, 1)) == 0) {
				flush_line();
				get_tensor_nd(bn, 8, "derived");
			} else
				flush_line();
		});
}

static void filters(void)
{
	for (int fmt = -1; fmt <= 3; fmt++)
		for (int dt = -1; dt <= 16; dt++)
			CASE({
				FD d = new_filter();
				if (set_filter(d, dt, fmt, 4, 8, 3, 3) == 0)
					get_filter(d, "set");
			});
	static const int vals[] = {-5, -1, 0, 1, 2, 7, 65536, 2147483647};
	for (int which = 0; which < 4; which++)
		for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
			CASE({
				int dims[4] = {4, 3, 3, 3};
				dims[which] = vals[i];
				FD d = new_filter();
				if (set_filter(d, 0, 0, dims[0], dims[1], dims[2], dims[3]) == 0)
					get_filter(d, "set");
			});
	/* NCHW_VECT_C filters: channels in vectors of the data type's width. */
	static const int vchan[] = {1, 3, 4, 6, 8, 32, 33, 64};
	for (size_t i = 0; i < sizeof vchan / sizeof vchan[0]; i++)
		for (int dt = 5; dt <= 8; dt++)
			CASE({
				FD d = new_filter();
				if (set_filter(d, dt, 2, 4, vchan[i], 3, 3) == 0)
					get_filter(d, "set");
			});
	CASE({
		FD d = new_filter();
		set_filter(d, 0, 0, 65536, 65536, 1, 1);
		set_filter(d, 0, 0, 1024, 1024, 1024, 2);
		get_filter(d, "huge");
	});
	CASE({
		FD d = new_filter();
		get_filter(d, "never set");
	});
	CASE({
		FD d = new_filter();
		set_filter(d, 0, 0, 4, 3, 3, 3);
		set_filter(d, 0, 0, 4, 0, 3, 3);
		get_filter(d, "after a failed set");
	});
	CASE({
		begin("cudnnCreateFilterDescriptor(NULL)");
		end(F(cudnnCreateFilterDescriptor)(NULL));
		flush_line();
		begin("cudnnDestroyFilterDescriptor(NULL)");
		end(F(cudnnDestroyFilterDescriptor)(NULL));
		flush_line();
	});
	CASE(set_filter(NULL, 0, 0, 1, 1, 1, 1));
	CASE(get_filter(NULL, "NULL descriptor"));
	CASE({
		FD d = new_filter();
		set_filter(d, 0, 0, 4, 3, 3, 3);
		begin("cudnnDestroyFilterDescriptor(d)");
		end(F(cudnnDestroyFilterDescriptor)(d));
		flush_line();
	});
	/* NULL outputs crash cuDNN 9.10.2 and 9.28.1 (the test compares up to
	 * the crash): each is the last call of its case. */
	may_crash = 1;
	CASE({
		FD d = new_filter();
		set_filter(d, 0, 0, 4, 3, 3, 3);
		begin("cudnnGetFilter4dDescriptor(d, NULL outputs)");
		end(F(cudnnGetFilter4dDescriptor)(d, NULL, NULL, NULL, NULL, NULL, NULL));
		flush_line();
	});
}

static void convolutions(void)
{
	/* Padding, stride and dilation each through their edges. */
	static const int vals[] = {-2, -1, 0, 1, 2, 3, 1000};
	for (int which = 0; which < 6; which++)
		for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
			CASE({
				int p[6] = {1, 1, 1, 1, 1, 1};
				p[which] = vals[i];
				CD d = new_conv();
				if (set_conv(d, p[0], p[1], p[2], p[3], p[4], p[5], 1, 0) == 0)
					get_conv(d, "set");
			});
	/* Mode and compute type. */
	for (int mode = -1; mode <= 2; mode++)
		for (int ct = -1; ct <= 16; ct++)
			CASE({
				CD d = new_conv();
				if (set_conv(d, 0, 0, 1, 1, 1, 1, mode, ct) == 0)
					get_conv(d, "set");
			});
	/* Math type, before and after the geometry. */
	for (int math = -1; math <= 4; math++)
		CASE({
			CD d = new_conv();
			begin("cudnnSetConvolutionMathType(%d) before set", math);
			end(F(cudnnSetConvolutionMathType)(d, math));
			flush_line();
			get_conv(d, "math only");
			set_conv(d, 1, 2, 1, 2, 1, 1, 0, 0);
			get_conv(d, "then set");
		});
	CASE({
		CD d = new_conv();
		get_conv(d, "never set");
	});
	/* What a failed set leaves in a descriptor that was set before: each
	 * argument bad in turn. */
	for (int which = 0; which < 8; which++)
		CASE({
			int p[8] = {3, 4, 5, 6, 2, 3, 0, 0};
			static const int badv[8] = {-1, -2, 0, -1, 0, -3, 7, -1};
			CD d = new_conv();
			set_conv(d, 1, 1, 2, 2, 1, 1, 1, 0);
			p[which] = badv[which];
			set_conv(d, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
			get_conv(d, "after a failed set");
		});
	CASE({
		begin("cudnnCreateConvolutionDescriptor(NULL)");
		end(F(cudnnCreateConvolutionDescriptor)(NULL));
		flush_line();
		begin("cudnnDestroyConvolutionDescriptor(NULL)");
		end(F(cudnnDestroyConvolutionDescriptor)(NULL));
		flush_line();
	});
	CASE(set_conv(NULL, 0, 0, 1, 1, 1, 1, 0, 0));
	CASE(get_conv(NULL, "NULL descriptor"));
	CASE({
		begin("cudnnSetConvolutionMathType(NULL, 0)");
		end(F(cudnnSetConvolutionMathType)(NULL, 0));
		flush_line();
	});
	CASE({
		CD d = new_conv();
		set_conv(d, 0, 0, 1, 1, 1, 1, 0, 0);
		begin("cudnnDestroyConvolutionDescriptor(d)");
		end(F(cudnnDestroyConvolutionDescriptor)(d));
		flush_line();
	});
	may_crash = 1;
	CASE({
		CD d = new_conv();
		set_conv(d, 0, 0, 1, 1, 1, 1, 0, 0);
		begin("cudnnGetConvolutionMathType(d, NULL)");
		end(F(cudnnGetConvolutionMathType)(d, NULL));
		flush_line();
	});
	may_crash = 1;
	CASE({
		CD d = new_conv();
		set_conv(d, 0, 0, 1, 1, 1, 1, 0, 0);
		begin("cudnnGetConvolution2dDescriptor(d, NULL outputs)");
		end(F(cudnnGetConvolution2dDescriptor)(d, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
		flush_line();
	});
}

/* N-d filters and convolutions: nbDims and arrayLength through their
 * ranges, bad values in each position, what a failed set leaves, the
 * getters' requested lengths, and the N-d output shape (3-d convolution). */
static void nd_filters_convs(void)
{
	static const int fdims[10] = {4, 3, 3, 3, 3, 3, 3, 3, 3, 3};
	for (int nb = -1; nb <= 10; nb++)
		CASE({
			FD d = new_filter();
			if (set_filter_nd(d, 0, 0, nb, fdims) == 0) {
				get_filter(d, "nd");
				static const int qs[] = {-1, 0, 2, 5, 8, 9};
				for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
					get_filter_nd(d, qs[i], "nd");
			}
		});
	for (int nb = 4; nb <= 5; nb++)
		for (int i = 0; i < nb; i++)
			for (int v = -1; v <= 0; v++)
				CASE({
					int dims[5] = {4, 3, 3, 3, 3};
					dims[i] = v;
					FD d = new_filter();
					set_filter(d, 1, 1, 6, 8, 7, 9);
					set_filter_nd(d, 0, 0, nb, dims);
					get_filter_nd(d, 8, "after a failed set");
					get_filter(d, "after a failed set");
				});
	for (int fmt = -1; fmt <= 3; fmt++)
		for (int dt = -1; dt <= 11; dt++)
			CASE({
				static const int dims[5] = {4, 8, 3, 3, 3};
				FD d = new_filter();
				if (set_filter_nd(d, dt, fmt, 5, dims) == 0)
					get_filter_nd(d, 8, "nd");
			});
	CASE({
		FD d = new_filter();
		get_filter_nd(d, 8, "never set");
		set_filter(d, 0, 1, 4, 3, 5, 7);
		get_filter_nd(d, 8, "NHWC from the 4-d setter");
		set_filter(d, 5, 2, 4, 8, 5, 7);
		get_filter_nd(d, 8, "NCHW_VECT_C from the 4-d setter");
		set_filter_nd(NULL, 0, 0, 4, fdims);
		get_filter_nd(NULL, 4, "NULL descriptor");
	});
	CASE({
		static const int big[4] = {65536, 65536, 1, 1};
		FD d = new_filter();
		if (set_filter_nd(d, 0, 0, 4, big) == 0)
			get_filter(d, "huge");
	});
	may_crash = 1;
	CASE({
		FD d = new_filter();
		set_filter_nd(d, 0, 0, 4, NULL);
	});

	static const int one[8] = {1, 1, 1, 1, 1, 1, 1, 1}, zero[8] = {0};
	for (int len = -1; len <= 8; len++)
		CASE({
			CD d = new_conv();
			if (set_conv_nd(d, len, zero, one, one, 1, 0) == 0) {
				get_conv(d, "nd");
				static const int qs[] = {-1, 0, 2, 5, 6, 7, 8};
				for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
					get_conv_nd(d, qs[i], "nd");
			}
		});
	/* A bad pad, stride or dilation in each position of a 3-d convolution,
	 * over a descriptor set before: what the failed set leaves. */
	for (int which = 0; which < 3; which++)
		for (int i = 0; i < 3; i++)
			CASE({
				int pad[3] = {1, 2, 3}, str[3] = {2, 3, 4}, dil[3] = {3, 1, 2};
				int *a = which == 0 ? pad : which == 1 ? str : dil;
				a[i] = which == 0 ? -1 : 0;
				CD d = new_conv();
				set_conv(d, 5, 6, 7, 8, 9, 9, 1, 1);
				set_conv_nd(d, 3, pad, str, dil, 0, 0);
				get_conv_nd(d, 6, "after a failed set");
				get_conv(d, "after a failed set");
			});
	for (int mode = -1; mode <= 2; mode++)
		for (int ct = -1; ct <= 5; ct += 3)
			CASE({
				static const int pad[3] = {1, 2, 3}, str[3] = {2, 3, 4}, dil[3] = {3, 1, 2};
				CD d = new_conv();
				set_conv(d, 5, 6, 7, 8, 9, 9, 1, 1);
				set_conv_nd(d, 3, pad, str, dil, mode, ct);
				get_conv_nd(d, 6, "after a set");
				get_conv(d, "after a set");
			});
	CASE({
		CD d = new_conv();
		get_conv_nd(d, 6, "never set");
		set_conv(d, 1, 2, 3, 4, 5, 6, 0, 2);
		get_conv_nd(d, 6, "from the 2-d setter");
		set_conv_nd(NULL, 2, zero, one, one, 1, 0);
		get_conv_nd(NULL, 2, "NULL descriptor");
	});
	for (int null = 0; null < 3; null++) {
		may_crash = 1;
		CASE({
			CD d = new_conv();
			set_conv_nd(d, 2, null == 0 ? NULL : zero, null == 1 ? NULL : one, null == 2 ? NULL : one, 1, 0);
		});
	}
	/* The N-d output shape: 5-d x and filter under a 3-d convolution, and
	 * mismatched dimension counts. */
	struct {
		int xnb, wnb, len, c;
	} sh[] = {{5, 5, 3, 3}, {5, 5, 3, 4}, {4, 5, 3, 3}, {5, 4, 3, 3}, {5, 5, 2, 3}, {4, 4, 3, 3}, {3, 3, 1, 3}, {6, 6, 4, 3}};
	/* The 2-d output shape with a 3-d convolution, 4-d x and filter. */
	CASE({
		static const int pad[3] = {1, 1, 1}, str[3] = {1, 1, 1}, dil[3] = {1, 1, 1};
		TD x = new_tensor();
		FD w = new_filter();
		CD c = new_conv();
		set_tensor(x, 0, 0, 2, 3, 8, 8);
		set_filter(w, 0, 0, 4, 3, 3, 3);
		set_conv_nd(c, 3, pad, str, dil, 1, 0);
		out_dim(c, x, w, "conv 3-d, x and w 4-d");
	});
	for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++)
		for (int nb = 3; nb <= 7; nb++)
			CASE({
				int xd[6] = {2, 3, 9, 8, 7, 6}, xs[6], wd[6] = {4, sh[i].c, 3, 3, 3, 3};
				int pad[4] = {1, 0, 2, 1}, str[4] = {2, 1, 3, 1}, dil[4] = {1, 2, 1, 1};
				long p = 1;
				for (int k = sh[i].xnb - 1; k >= 0; k--)
					xs[k] = (int)p, p *= xd[k];
				TD x = new_tensor();
				FD w = new_filter();
				CD c = new_conv();
				char what[96];
				snprintf(what, sizeof what, "x %d-d, w %d-d (c=%d), conv %d-d", sh[i].xnb, sh[i].wnb, sh[i].c, sh[i].len);
				pos = 0;
				if (set_tensor_nd(x, 0, sh[i].xnb, xd, xs) == 0 && set_filter_nd(w, 0, 0, sh[i].wnb, wd) == 0 &&
					set_conv_nd(c, sh[i].len, pad, str, dil, 1, 0) == 0)
					out_dim_nd(c, x, w, nb, what);
			});
}

/* The forward output shape of x (n,c,h,w) under filter (k,fc,r,s) and the
 * convolution (pad, stride, dilation). */
static void output_dims(void)
{
	static const int in[] = {1, 3, 7, 32};
	static const int flt[] = {1, 3, 5};
	static const int pad[] = {0, 1, 2};
	static const int str[] = {1, 2, 3};
	static const int dil[] = {1, 2};
	for (size_t a = 0; a < 4; a++)
		for (size_t b = 0; b < 3; b++)
			for (size_t p = 0; p < 3; p++)
				for (size_t s = 0; s < 3; s++)
					for (size_t l = 0; l < 2; l++)
						CASE({
							TD x = new_tensor();
							FD w = new_filter();
							CD c = new_conv();
							char what[128];
							snprintf(what, sizeof what, "x=2,3,%d,%d w=4,3,%d,%d pad=%d stride=%d dil=%d", in[a],
								in[a] + 1, flt[b], flt[b], pad[p], str[s], dil[l]);
							pos = 0;
							if (set_tensor(x, 0, 0, 2, 3, in[a], in[a] + 1) == 0 &&
								set_filter(w, 0, 0, 4, 3, flt[b], flt[b]) == 0 &&
								set_conv(c, pad[p], pad[p], str[s], str[s], dil[l], dil[l], 1, 0) == 0)
								out_dim(c, x, w, what);
						});
	/* Mismatches: channels, data types, formats, unset descriptors, NULL. */
	struct {
		int xfmt, xdt, xc, wfmt, wdt, wc, mode, ct;
		const char *what;
	} mis[] = {
		{0, 0, 3, 0, 0, 4, 1, 0, "x has 3 channels, w 4"},
		{0, 0, 6, 0, 0, 3, 1, 0, "x has 6 channels, w 3 (groups of 2 without a group count)"},
		{0, 0, 3, 0, 1, 3, 1, 0, "x float, w double"},
		{0, 1, 3, 0, 0, 3, 1, 0, "x double, w float"},
		{0, 2, 3, 0, 2, 3, 1, 0, "half x and w"},
		{0, 2, 3, 0, 2, 3, 1, 2, "half x and w, half compute"},
		{1, 0, 3, 0, 0, 3, 1, 0, "x NHWC, w NCHW"},
		{0, 0, 3, 1, 0, 3, 1, 0, "x NCHW, w NHWC"},
		{1, 0, 3, 1, 0, 3, 1, 0, "x and w NHWC"},
		{0, 0, 3, 0, 0, 3, 0, 0, "CUDNN_CONVOLUTION mode"},
		{0, 3, 4, 0, 3, 4, 1, 4, "int8 x and w"},
	};
	for (size_t i = 0; i < sizeof mis / sizeof mis[0]; i++)
		CASE({
			TD x = new_tensor();
			FD w = new_filter();
			CD c = new_conv();
			if (set_tensor(x, mis[i].xfmt, mis[i].xdt, 2, mis[i].xc, 8, 8) == 0 &&
				set_filter(w, mis[i].wdt, mis[i].wfmt, 4, mis[i].wc, 3, 3) == 0 &&
				set_conv(c, 1, 1, 1, 1, 1, 1, mis[i].mode, mis[i].ct) == 0)
				out_dim(c, x, w, mis[i].what);
		});
	/* Asymmetric padding, stride and dilation; an output of size zero or less. */
	struct {
		int h, w, r, s, ph, pw, u, v, dh, dw;
	} geo[] = {
		{8, 9, 3, 1, 1, 0, 2, 1, 1, 3},
		{5, 5, 7, 7, 0, 0, 1, 1, 1, 1}, /* filter larger than the input */
		{5, 5, 7, 7, 1, 1, 1, 1, 1, 1}, /* still too large: output 1? */
		{5, 5, 3, 3, 0, 0, 1, 1, 3, 3}, /* dilated filter spans 7 */
		{4, 4, 3, 3, 0, 0, 1, 1, 2, 2}, /* dilated filter spans 5 */
		{3, 3, 3, 3, 0, 0, 1, 1, 1, 1}, /* output exactly 1 */
		{1, 1, 1, 1, 0, 0, 100, 100, 1, 1},
		{1, 1, 3, 3, 5, 5, 1, 1, 1, 1}, /* padding larger than the filter */
		{10, 10, 3, 3, 0, 0, 1000, 1, 1, 1},
		{2147483647, 1, 1, 1, 1, 0, 1, 1, 1, 1}, /* overflowing the output size */
	};
	for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++)
		CASE({
			TD x = new_tensor();
			FD w = new_filter();
			CD c = new_conv();
			char what[160];
			snprintf(what, sizeof what, "x=1,2,%d,%d w=3,2,%d,%d pad=%d,%d stride=%d,%d dil=%d,%d", geo[i].h, geo[i].w,
				geo[i].r, geo[i].s, geo[i].ph, geo[i].pw, geo[i].u, geo[i].v, geo[i].dh, geo[i].dw);
			pos = 0;
			if (set_tensor(x, 0, 0, 1, 2, geo[i].h, geo[i].w) == 0 && set_filter(w, 0, 0, 3, 2, geo[i].r, geo[i].s) == 0 &&
				set_conv(c, geo[i].ph, geo[i].pw, geo[i].u, geo[i].v, geo[i].dh, geo[i].dw, 1, 0) == 0)
				out_dim(c, x, w, what);
		});
	/* Unset descriptors and NULL arguments. */
	for (int unset = 0; unset < 3; unset++)
		CASE({
			TD x = new_tensor();
			FD w = new_filter();
			CD c = new_conv();
			if (unset != 0)
				set_tensor(x, 0, 0, 2, 3, 8, 8);
			if (unset != 1)
				set_filter(w, 0, 0, 4, 3, 3, 3);
			if (unset != 2)
				set_conv(c, 1, 1, 1, 1, 1, 1, 1, 0);
			out_dim(c, x, w, unset == 0 ? "x never set" : unset == 1 ? "w never set" : "conv never set");
		});
	/* cudnnGetConvolutionNdForwardOutputDim's nbDims against 4-d descriptors
	 * (deepres's), and a NULL array. */
	static const int nbs[] = {-1, 0, 1, 2, 3, 5, 8, 9};
	for (size_t i = 0; i < sizeof nbs / sizeof nbs[0]; i++)
		CASE({
			TD x = new_tensor();
			FD w = new_filter();
			CD c = new_conv();
			set_tensor(x, 0, 0, 2, 3, 8, 8);
			set_filter(w, 0, 0, 4, 3, 3, 3);
			set_conv(c, 1, 1, 2, 2, 1, 1, 1, 0);
			out_dim_nd(c, x, w, nbs[i], "x=2,3,8,8 w=4,3,3,3 pad=1 stride=2");
		});
	CASE({
		TD x = new_tensor();
		FD w = new_filter();
		CD c = new_conv();
		set_tensor(x, 0, 0, 2, 3, 8, 8);
		set_filter(w, 0, 0, 4, 3, 3, 3);
		set_conv(c, 1, 1, 2, 2, 1, 1, 1, 0);
		begin("cudnnGetConvolutionNdForwardOutputDim(nbDims=4, NULL array)");
		end(F(cudnnGetConvolutionNdForwardOutputDim)(c, x, w, 4, NULL));
		flush_line();
	});
	for (int null = 0; null < 5; null++) {
		may_crash = null >= 3; /* NULL outputs */
		CASE({
			TD x = new_tensor();
			FD w = new_filter();
			CD c = new_conv();
			set_tensor(x, 0, 0, 2, 3, 8, 8);
			set_filter(w, 0, 0, 4, 3, 3, 3);
			set_conv(c, 1, 1, 1, 1, 1, 1, 1, 0);
			int n, ch, h, ww;
			static const char *names[] = {"NULL conv", "NULL x", "NULL w", "NULL n", "NULL w output"};
			begin("cudnnGetConvolution2dForwardOutputDim(%s)", names[null]);
			end(F(cudnnGetConvolution2dForwardOutputDim)(null == 0 ? NULL : c, null == 1 ? NULL : x, null == 2 ? NULL : w,
				null == 3 ? NULL : &n, &ch, &h, null == 4 ? NULL : &ww));
			flush_line();
		});
	}
}

static void activations(void)
{
	static const double coefs[] = {-1.0, -0.0, 0.0, 0.5, 6.0, 1e300};
	for (int mode = -1; mode <= 7; mode++)
		for (int nan_ = -1; nan_ <= 2; nan_++)
			for (size_t i = 0; i < sizeof coefs / sizeof coefs[0]; i++)
				CASE({
					AD d = new_act();
					begin("cudnnSetActivationDescriptor(mode=%d, nan=%d, coef=%g)", mode, nan_, coefs[i]);
					if (end(F(cudnnSetActivationDescriptor)(d, mode, nan_, coefs[i])) == 0) {
						flush_line();
						get_act(d, "set", 1);
					} else
						flush_line();
				});
	static const double odd[] = {NAN, INFINITY, -INFINITY};
	for (int mode = 0; mode <= 5; mode++)
		for (size_t i = 0; i < 3; i++)
			CASE({
				AD d = new_act();
				begin("cudnnSetActivationDescriptor(mode=%d, nan=0, coef=%g)", mode, odd[i]);
				if (end(F(cudnnSetActivationDescriptor)(d, mode, 0, odd[i])) == 0) {
					flush_line();
					get_act(d, "set", 1);
				} else
					flush_line();
			});
	CASE({
		AD d = new_act();
		get_act(d, "never set", 0); /* cuDNN 9.10.2 and 9.28.1 leave coef uninitialised */
	});
	CASE({
		begin("cudnnCreateActivationDescriptor(NULL)");
		end(F(cudnnCreateActivationDescriptor)(NULL));
		flush_line();
		begin("cudnnDestroyActivationDescriptor(NULL)");
		end(F(cudnnDestroyActivationDescriptor)(NULL));
		flush_line();
		begin("cudnnSetActivationDescriptor(NULL, 1, 0, 0)");
		end(F(cudnnSetActivationDescriptor)(NULL, 1, 0, 0));
		flush_line();
	});
	CASE(get_act(NULL, "NULL descriptor", 1));
	CASE({
		AD d = new_act();
		F(cudnnSetActivationDescriptor)(d, 1, 0, 0);
		begin("cudnnDestroyActivationDescriptor(d)");
		end(F(cudnnDestroyActivationDescriptor)(d));
		flush_line();
	});
	may_crash = 1;
	CASE({
		AD d = new_act();
		F(cudnnSetActivationDescriptor)(d, 1, 0, 0);
		begin("cudnnGetActivationDescriptor(d, NULL outputs)");
		end(F(cudnnGetActivationDescriptor)(d, NULL, NULL, NULL));
		flush_line();
	});
}

/* cudnnDeriveBNTensorDescriptor for each mode over x shapes, formats and
 * data types. */
/* The extended batch norm needs a handle, which cudnnCreate cannot make
 * without a GPU: what can be compared is the NULL handle, BAD_PARAM before
 * any other check (measured: whatever bnOps, mode, type, layout or NULL
 * output pointer), except that cudnnBatchNormalizationBackwardEx with a NULL
 * handle crashes 9.10.2 and 9.28.1 (the simulator says BAD_PARAM). The
 * sizes' answers are not printed: without a handle there are none. */
static TD tsel(TD *d, int i) { return i < 0 ? NULL : d[i]; }
static void batchnorm_ex(void)
{
	static const int layouts[][2] = {{0, 0}, {1, 2}, {1, 9}, {0, 2}};
	for (int ops = -1; ops <= 3; ops++)
		for (int mode = 1; mode <= 2; mode++)
			for (size_t l = 0; l < 4; l++)
				CASE({
					int fmt = layouts[l][0], dt = layouts[l][1];
					TD x = new_tensor(), p = new_tensor();
					AD a = new_act();
					set_tensor(x, fmt, dt, 2, 8, 4, 4), set_tensor(p, 0, 0, 1, 8, 1, 1);
					F(cudnnSetActivationDescriptor)(a, 1, 0, 0.0);
					size_t sz = 7;
					float one = 1, zero = 0;
					char buf[64];
					begin("cudnnGetBatchNormalizationTrainingExReserveSpaceSize(NULL handle, mode=%d, bnOps=%d, fmt=%d, dt=%d)",
						mode, ops, fmt, dt);
					end(F(cudnnGetBatchNormalizationTrainingExReserveSpaceSize)(NULL, mode, ops, a, x, &sz));
					flush_line();
					begin("cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(NULL handle, mode=%d, bnOps=%d, fmt=%d, dt=%d)",
						mode, ops, fmt, dt);
					end(F(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize)(NULL, mode, ops, x, x, x, p, a, &sz));
					flush_line();
					begin("cudnnGetBatchNormalizationBackwardExWorkspaceSize(NULL handle, mode=%d, bnOps=%d, fmt=%d, dt=%d)",
						mode, ops, fmt, dt);
					end(F(cudnnGetBatchNormalizationBackwardExWorkspaceSize)(NULL, mode, ops, x, x, x, x, x, p, a, &sz));
					flush_line();
					begin("cudnnBatchNormalizationForwardTrainingEx(NULL handle, mode=%d, bnOps=%d, fmt=%d, dt=%d)", mode, ops,
						fmt, dt);
					end(F(cudnnBatchNormalizationForwardTrainingEx)(NULL, mode, ops, &one, &zero, x, buf, x, buf, x, buf, p,
						buf, buf, 0.1, buf, buf, 1e-5, buf, buf, a, buf, 64, buf, 64));
					flush_line();
				});
	CASE({
		TD x = new_tensor(), p = new_tensor();
		AD a = new_act();
		set_tensor(x, 1, 2, 2, 8, 4, 4), set_tensor(p, 0, 0, 1, 8, 1, 1);
		begin("cudnnGetBatchNormalizationTrainingExReserveSpaceSize(NULL handle, NULL sizeInBytes)");
		end(F(cudnnGetBatchNormalizationTrainingExReserveSpaceSize)(NULL, 2, 2, a, x, NULL));
		flush_line();
		begin("cudnnGetBatchNormalizationTrainingExReserveSpaceSize(NULL handle, NULL x, NULL activation)");
		size_t sz = 7;
		end(F(cudnnGetBatchNormalizationTrainingExReserveSpaceSize)(NULL, 2, 2, NULL, NULL, &sz));
		flush_line();
		begin("cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(NULL handle, NULL descriptors)");
		end(F(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize)(NULL, 2, 2, NULL, NULL, NULL, NULL, NULL, NULL));
		flush_line();
		begin("cudnnGetBatchNormalizationBackwardExWorkspaceSize(NULL handle, NULL descriptors)");
		end(F(cudnnGetBatchNormalizationBackwardExWorkspaceSize)(NULL, 2, 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
		flush_line();
	});
	/* cudnnBatchNormalizationBackwardEx with a NULL handle: one change at a
	 * time from a valid fused call (BN_ADD_ACTIVATION, SPATIAL_PERSISTENT,
	 * HALF NHWC 2x8x4x4, ReLU), each answered before the handle is used;
	 * the valid call itself crashes the real cuDNN (marked). */
	static const struct {
		const char *what;
		int mode, ops, x, y, dy, dz, dx, p, act, alpha_null, one_saved_null;
		double eps;
	} bx[] = {
		/* tensors: 0 HALF NHWC 2x8x4x4, 1 HALF NCHW, 2 BFLOAT16 NHWC, 3 FLOAT NHWC, 4 HALF NHWC C=6, 5 C=5,
		   6 HALF NHWC 2x8x4x5, 7 HALF 1x8x1x1 (a parameter tensor of the wrong type), 8 FLOAT 1x8x1x1,
		   9 FLOAT 1x6x1x1, 10 FLOAT 1x5x1x1, 11 FLOAT 1x8x4x4; -1 NULL. act: -2 NULL, -1 never set. */
		{"valid", 2, 2, 0, 0, 0, 0, 0, 8, 1, 0, 0, 1e-5},
		{"activation NULL", 2, 2, 0, 0, 0, 0, 0, 8, -2, 0, 0, 1e-5},
		{"activation never set", 2, 2, 0, 0, 0, 0, 0, 8, -1, 0, 0, 1e-5},
		{"activation SIGMOID", 2, 2, 0, 0, 0, 0, 0, 8, 0, 0, 0, 1e-5},
		{"activation TANH", 2, 2, 0, 0, 0, 0, 0, 8, 2, 0, 0, 1e-5},
		{"activation CLIPPED_RELU", 2, 2, 0, 0, 0, 0, 0, 8, 3, 0, 0, 1e-5},
		{"activation ELU", 2, 2, 0, 0, 0, 0, 0, 8, 4, 0, 0, 1e-5},
		{"activation IDENTITY", 2, 2, 0, 0, 0, 0, 0, 8, 5, 0, 0, 1e-5},
		{"bnOps 3", 2, 3, 0, 0, 0, 0, 0, 8, 1, 0, 0, 1e-5},
		{"bnOps -1", 2, -1, 0, 0, 0, 0, 0, 8, 1, 0, 0, 1e-5},
		{"mode 3", 3, 2, 0, 0, 0, 0, 0, 8, 1, 0, 0, 1e-5},
		{"mode SPATIAL", 1, 2, 0, 0, 0, 0, 0, 8, 1, 0, 0, 1e-5},
		{"mode PER_ACTIVATION", 0, 2, 0, 0, 0, 0, 0, 11, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION, mode SPATIAL", 1, 1, 0, 0, 0, -1, 0, 8, 1, 0, 0, 1e-5},
		{"all HALF NCHW", 2, 2, 1, 1, 1, 1, 1, 8, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION, C=6", 2, 1, 4, 4, 4, -1, 4, 9, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION, C=5", 2, 1, 5, 5, 5, -1, 5, 10, 1, 0, 0, 1e-5},
		{"dzDesc NULL", 2, 2, 0, 0, 0, -1, 0, 8, 1, 0, 0, 1e-5},
		{"dz of another shape", 2, 2, 0, 0, 0, 6, 0, 8, 1, 0, 0, 1e-5},
		{"dz BFLOAT16", 2, 2, 0, 0, 0, 2, 0, 8, 1, 0, 0, 1e-5},
		{"dy BFLOAT16", 2, 2, 0, 0, 2, 0, 0, 8, 1, 0, 0, 1e-5},
		{"one saved statistic NULL", 2, 2, 0, 0, 0, 0, 0, 8, 1, 0, 1, 1e-5},
		{"parameter tensor HALF", 2, 2, 0, 0, 0, 0, 0, 7, 1, 0, 0, 1e-5},
		{"parameter tensor 1x6x1x1", 2, 2, 0, 0, 0, 0, 0, 9, 1, 0, 0, 1e-5},
		{"BN, dy BFLOAT16", 1, 0, 0, -1, 2, -1, 0, 8, -2, 0, 0, 1e-5},
		{"BN, parameter tensor HALF", 1, 0, 0, -1, 0, -1, 0, 7, -2, 0, 0, 1e-5},
		{"BN_ACTIVATION, x NCHW", 2, 1, 1, 0, 0, -1, 0, 8, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION, y NCHW", 2, 1, 0, 1, 0, -1, 0, 8, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION, dy NCHW", 2, 1, 0, 0, 1, -1, 0, 8, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION, dx NCHW", 2, 1, 0, 0, 0, -1, 1, 8, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION, y BFLOAT16", 2, 1, 0, 2, 0, -1, 0, 8, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION, y of another shape", 2, 1, 0, 6, 0, -1, 0, 8, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION, dx BFLOAT16", 2, 1, 0, 0, 0, -1, 2, 8, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION, all FLOAT", 2, 1, 3, 3, 3, -1, 3, 8, 1, 0, 0, 1e-5},
		{"BN_ACTIVATION with a dzDesc", 2, 1, 0, 0, 0, 0, 0, 8, 1, 0, 0, 1e-5},
		{"epsilon -1", 2, 2, 0, 0, 0, 0, 0, 8, 1, 0, 0, -1},
		{"alphaDataDiff NULL", 2, 2, 0, 0, 0, 0, 0, 8, 1, 1, 0, 1e-5},
	};
	static const int ts[][6] = {{1, 2, 2, 8, 4, 4}, {0, 2, 2, 8, 4, 4}, {1, 9, 2, 8, 4, 4}, {1, 0, 2, 8, 4, 4}, {1, 2, 2, 6, 4, 4},
		{1, 2, 2, 5, 4, 4}, {1, 2, 2, 8, 4, 5}, {0, 2, 1, 8, 1, 1}, {0, 0, 1, 8, 1, 1}, {0, 0, 1, 6, 1, 1}, {0, 0, 1, 5, 1, 1},
		{0, 0, 1, 8, 4, 4}};
	for (size_t k = 0; k < sizeof bx / sizeof bx[0]; k++) {
		may_crash = k == 0;
		CASE({
			TD d[12];
			for (int t = 0; t < 12; t++)
				d[t] = new_tensor(), set_tensor(d[t], ts[t][0], ts[t][1], ts[t][2], ts[t][3], ts[t][4], ts[t][5]);
			AD a = NULL;
			if (bx[k].act != -2)
				a = new_act();
			if (bx[k].act >= 0)
				F(cudnnSetActivationDescriptor)(a, bx[k].act, 0, 0.0);
			float one = 1, zero = 0;
			static char buf[4096];
			pos = 0;
			begin("cudnnBatchNormalizationBackwardEx(NULL handle, %s)", bx[k].what);
			end(F(cudnnBatchNormalizationBackwardEx)(NULL, bx[k].mode, bx[k].ops, bx[k].alpha_null ? NULL : &one, &zero, &one, &zero,
				tsel(d, bx[k].x), buf, tsel(d, bx[k].y), buf, tsel(d, bx[k].dy), buf, tsel(d, bx[k].dz), buf, tsel(d, bx[k].dx), buf, tsel(d, bx[k].p), buf, buf,
				buf, buf, bx[k].eps, buf, bx[k].one_saved_null ? NULL : buf, a, buf, 4096, buf, 4096));
			flush_line();
		});
	}
}

static void batchnorm(void)
{
	static const int shapes[][4] = {{2, 3, 4, 5}, {1, 1, 1, 1}, {8, 64, 1, 1}, {1, 16, 7, 3}};
	for (int mode = -1; mode <= 3; mode++)
		for (size_t i = 0; i < 4; i++)
			for (int fmt = 0; fmt <= 1; fmt++)
				for (int dt = 0; dt <= 3; dt += 1)
					CASE({
						TD x = new_tensor();
						TD bn = new_tensor();
						if (set_tensor(x, fmt, dt, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3]) != 0)
							fflush(stdout), _exit(0);
						begin("cudnnDeriveBNTensorDescriptor(mode=%d)", mode);
						if (end(F(cudnnDeriveBNTensorDescriptor)(bn, x, mode)) == 0) {
							flush_line();
							get_tensor(bn, "derived");
						} else
							flush_line();
					});
	CASE({
		TD x = new_tensor();
		TD bn = new_tensor();
		begin("cudnnDeriveBNTensorDescriptor(x never set)");
		end(F(cudnnDeriveBNTensorDescriptor)(bn, x, 1));
		flush_line();
		set_tensor(x, 0, 0, 2, 3, 4, 5);
		begin("cudnnDeriveBNTensorDescriptor(NULL derived)");
		end(F(cudnnDeriveBNTensorDescriptor)(NULL, x, 1));
		flush_line();
		set_tensor(bn, 0, 0, 9, 9, 9, 9);
		begin("cudnnDeriveBNTensorDescriptor(derived already set)");
		if (end(F(cudnnDeriveBNTensorDescriptor)(bn, x, 0)) == 0) {
			flush_line();
			get_tensor(bn, "derived over a set one");
		} else
			flush_line();
	});
	may_crash = 1;
	CASE({
		TD bn = new_tensor();
		begin("cudnnDeriveBNTensorDescriptor(NULL x)");
		end(F(cudnnDeriveBNTensorDescriptor)(bn, NULL, 1));
		flush_line();
	});
}

/* Half precision (HALF 2, BFLOAT16 9) in every call that takes a type and
 * needs no GPU: the batch-norm derivation of bfloat16 x (HALF is in
 * batchnorm()), NHWC-strided half tensors from the strided and N-d setters
 * (what the simulator computes as NHWC), the forward output shape over every
 * pairing of x and filter types, formats and compute types, and the N-d
 * convolution's compute types. */
static void half_types(void)
{
	for (int mode = 0; mode <= 2; mode++)
		for (int fmt = 0; fmt <= 1; fmt++)
			for (int sh = 0; sh < 2; sh++)
				CASE({
					TD x = new_tensor();
					TD bn = new_tensor();
					if (set_tensor(x, fmt, 9, 2, sh ? 16 : 3, sh ? 7 : 4, sh ? 3 : 5) != 0)
						fflush(stdout), _exit(0);
					begin("cudnnDeriveBNTensorDescriptor(mode=%d, bfloat16 x)", mode);
					if (end(F(cudnnDeriveBNTensorDescriptor)(bn, x, mode)) == 0) {
						flush_line();
						get_tensor(bn, "derived");
						get_tensor_nd(bn, 8, "derived");
					} else
						flush_line();
				});
	static const int dts[] = {2, 9};
	for (int i = 0; i < 2; i++)
		for (int nd = 0; nd < 2; nd++)
			CASE({
				/* 2x3x4x5 stored NHWC: strides n=60, c=1, h=15, w=3. */
				static const int v[8] = {2, 3, 4, 5, 60, 1, 15, 3};
				TD x = new_tensor();
				TD bn = new_tensor();
				FD w = new_filter();
				CD c = new_conv();
				if ((nd ? set_tensor_nd(x, dts[i], 4, v, v + 4) : set_tensor_ex(x, dts[i], v)) != 0)
					fflush(stdout), _exit(0);
				get_tensor(x, "NHWC strides");
				get_tensor_nd(x, 8, "NHWC strides");
				begin("cudnnDeriveBNTensorDescriptor(NHWC-strided x, mode=1)");
				if (end(F(cudnnDeriveBNTensorDescriptor)(bn, x, 1)) == 0) {
					flush_line();
					get_tensor_nd(bn, 8, "derived");
				} else
					flush_line();
				set_filter(w, dts[i], 1, 4, 3, 3, 3);
				set_conv(c, 1, 1, 1, 1, 1, 1, 1, 0);
				out_dim(c, x, w, "NHWC-strided x, KRSC filter");
			});
	static const int all[] = {0, 2, 9};
	for (int xt = 0; xt < 3; xt++)
		for (int wt = 0; wt < 3; wt++)
			for (int ct = 0; ct <= 2; ct += 2)
				for (int fmts = 0; fmts < 4; fmts++)
					CASE({
						TD x = new_tensor();
						FD w = new_filter();
						CD c = new_conv();
						char what[64];
						snprintf(what, sizeof what, "x %d fmt %d, w %d fmt %d, compute %d", all[xt], fmts & 1, all[wt],
							fmts >> 1, ct);
						if (set_tensor(x, fmts & 1, all[xt], 2, 3, 8, 8) == 0 && set_filter(w, all[wt], fmts >> 1, 4, 3, 3, 3) == 0 &&
							set_conv(c, 1, 1, 1, 1, 1, 1, 1, ct) == 0)
							out_dim(c, x, w, what);
					});
	/* N-d half filters in both formats (KCRS, KRSC) and 5-d half tensors. */
	for (int i = 0; i < 2; i++)
		for (int fmt = 0; fmt <= 1; fmt++)
			for (int nb = 4; nb <= 5; nb++)
				CASE({
					static const int dims[5] = {4, 3, 3, 3, 2};
					FD w = new_filter();
					if (set_filter_nd(w, dts[i], fmt, nb, dims) == 0) {
						get_filter_nd(w, 8, "half N-d");
						get_filter(w, "half N-d");
					}
				});
	for (int i = 0; i < 2; i++)
		CASE({
			static const int dims[5] = {2, 3, 4, 5, 6}, st5[5] = {360, 120, 30, 6, 1};
			TD x = new_tensor();
			if (set_tensor_nd(x, dts[i], 5, dims, st5) == 0) {
				get_tensor_nd(x, 8, "half 5-d");
				get_tensor(x, "half 5-d");
			}
		});
	for (int ct = 0; ct <= 9; ct += 9)
		CASE({
			static const int pad[2] = {1, 1}, str[2] = {1, 1}, dil[2] = {1, 1};
			CD d = new_conv();
			if (set_conv_nd(d, 2, pad, str, dil, 1, ct) == 0)
				get_conv_nd(d, 2, "2-d");
		});
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: cudnn_calls /path/to/libcudnn.so.9\n");
		return 2;
	}
	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "cudnn_calls: %s\n", dlerror());
		return 1;
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	/* The real cuDNN 9 loads a sub-library (libcudnn_graph, _ops, _cnn) at
	 * its first call: load them here, once, not in every forked case (the
	 * CUDA 13 wheel's graph library alone is 143 MB). */
	void *d = NULL;
	cudnnCreateTensorDescriptor_fn ct = (cudnnCreateTensorDescriptor_fn)sym("cudnnCreateTensorDescriptor");
	cudnnCreateActivationDescriptor_fn ca = (cudnnCreateActivationDescriptor_fn)sym("cudnnCreateActivationDescriptor");
	cudnnCreateConvolutionDescriptor_fn cc = (cudnnCreateConvolutionDescriptor_fn)sym("cudnnCreateConvolutionDescriptor");
	if (ct && ct(&d) == 0 && sym("cudnnDestroyTensorDescriptor"))
		((cudnnDestroyTensorDescriptor_fn)sym("cudnnDestroyTensorDescriptor"))(d);
	if (ca && ca(&d) == 0 && sym("cudnnDestroyActivationDescriptor"))
		((cudnnDestroyActivationDescriptor_fn)sym("cudnnDestroyActivationDescriptor"))(d);
	if (cc && cc(&d) == 0 && sym("cudnnDestroyConvolutionDescriptor"))
		((cudnnDestroyConvolutionDescriptor_fn)sym("cudnnDestroyConvolutionDescriptor"))(d);
	versions();
	error_strings();
	tensors();
	strided();
	filters();
	convolutions();
	nd_filters_convs();
	output_dims();
	activations();
	batchnorm();
	batchnorm_ex();
	half_types();
	printf("# %d cases\n", ncases);
	return 0;
}
