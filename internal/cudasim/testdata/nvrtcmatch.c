/*
 * nvrtcmatch.c: runs the same NVRTC calls against one libnvrtc (argv[1]:
 * NVIDIA's real one or the simulator's) and prints one line per
 * observation, so that nvrtc_match_test.go can compare the two line by
 * line (the real library wins). What differs between compilers by nature
 * (an error's wording, sizes, ptxas timings) is printed as structure: the
 * line numbers and file names an error names, whether a size is non-zero.
 * Arguments and cases follow nvrtc.h (NVRTC User Guide, "NVRTC API").
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int R;
static const char *(*GetErrorString)(R);
static R (*Version)(int *, int *);
static R (*GetNumSupportedArchs)(int *);
static R (*GetSupportedArchs)(int *);
static R (*CreateProgram)(void **, const char *, const char *, int, const char *const *, const char *const *);
static R (*DestroyProgram)(void **);
static R (*CompileProgram)(void *, int, const char *const *);
static R (*GetProgramLogSize)(void *, size_t *);
static R (*GetProgramLog)(void *, char *);
static R (*GetCUBINSize)(void *, size_t *);
static R (*GetCUBIN)(void *, char *);
static R (*GetPTXSize)(void *, size_t *);
static R (*GetPTX)(void *, char *);

static const char good[] = "extern \"C\" __global__ void k(float *x) { x[threadIdx.x] = 1.0f; }\n";
/* Line 2 uses an undeclared name. */
static const char bad[] = "extern \"C\" __global__ void k(float *x) {\n  x[threadIdx.x] = y;\n}\n";

/* s with newlines and backslashes escaped, so that an observation is one line. */
static void put_escaped(const char *s) {
	for (; *s; s++) {
		if (*s == '\n') fputs("\\n", stdout);
		else if (*s == '\\') fputs("\\\\", stdout);
		else putchar(*s);
	}
}

static char *program_log(void *p, R *r) {
	size_t n = 0;
	*r = GetProgramLogSize(p, &n);
	char *log = calloc(n + 1, 1);
	if (*r == 0 && n > 0) *r = GetProgramLog(p, log);
	return log;
}

/* The ptxas -v lines that are no measurement: "Compiling entry function
 * 'k' for 'sm_80'" and "Function properties for k", in order. */
static void put_ptxas_structure(const char *log) {
	printf(" ptxas=[");
	for (const char *l = log; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if ((n > 40 && strncmp(l, "ptxas info    : Compiling entry function", 40) == 0) ||
			(n > 40 && strncmp(l, "ptxas info    : Function properties for ", 40) == 0)) {
			printf("%.*s;", (int)n, l);
		}
		l += n + (e != NULL);
	}
	printf("]");
}

/* An error log's structure: each "NAME(LINE): error" it starts a line with,
 * and its last line ("1 error detected in the compilation of ..."). */
static void put_error_structure(const char *log) {
	printf(" errors=[");
	const char *last = "";
	for (const char *l = log; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		const char *colon = strstr(l, "): error");
		if (colon != NULL && (size_t)(colon - l) < n && memchr(l, '(', (size_t)(colon - l)) != NULL) {
			printf("%.*s;", (int)(colon + 8 - l), l);
		}
		if (n > 0) last = l;
		l += n + (e != NULL);
	}
	const char *e = strchr(last, '\n');
	printf("] last=\"%.*s\"", e ? (int)(e - last) : (int)strlen(last), last);
}

/* The PTX's lines that say what it is for: NUL-terminated text whose
 * ".target" names the architecture and whose header names the release. */
static void put_ptx_structure(void *p) {
	size_t n = 0;
	R r = GetPTXSize(p, &n);
	printf(" ptx_size_status=%d", r);
	if (r != 0 || n == 0) return;
	char *ptx = malloc(n);
	memset(ptx, 'x', n);
	r = GetPTX(p, ptx);
	printf(" ptx_status=%d nul_terminated=%d", r, ptx[n - 1] == 0 && strlen(ptx) == n - 1);
	ptx[n - 1] = 0;
	const char *t = strstr(ptx, "\n.target ");
	if (t != NULL) printf(" target=\"%.*s\"", (int)strcspn(t + 1, "\n"), t + 1);
	const char *rel = strstr(ptx, "Cuda compilation tools, release ");
	if (rel != NULL) printf(" release=\"%.*s\"", (int)strcspn(rel + 32, ","), rel + 32);
	free(ptx);
}

/* Compiles src with opts and prints what the program holds afterwards. */
static void compile_case(const char *name, const char *src, const char *prog_name, int n, const char *const *opts) {
	void *p = NULL;
	R r = CreateProgram(&p, src, prog_name, 0, NULL, NULL);
	if (r != 0) {
		printf("%s: create=%d\n", name, r);
		return;
	}
	R c = CompileProgram(p, n, opts);
	R lr;
	char *log = program_log(p, &lr);
	printf("%s: compile=%s", name, GetErrorString(c));
	if (c == 6) {
		put_error_structure(log); /* the compiler's words differ: see above */
	} else if (strstr(log, "ptxas") != NULL) {
		put_ptxas_structure(log); /* timings and register counts are measurements */
	} else {
		printf(" log=\"");
		put_escaped(log);
		printf("\"");
	}
	size_t cs = 12345;
	r = GetCUBINSize(p, &cs);
	printf(" cubin_size_status=%d cubin_nonempty=%d", r, r == 0 && cs > 0);
	if (r == 0) {
		char *b = malloc(cs ? cs : 1);
		printf(" cubin_status=%d", GetCUBIN(p, b));
		free(b);
	}
	put_ptx_structure(p);
	printf("\n");
	free(log);
	DestroyProgram(&p);
}

#define COMPILE(name, src, ...)                                                         \
	do {                                                                            \
		const char *o_[] = {__VA_ARGS__};                                       \
		compile_case(name, src, "prog.cu", (int)(sizeof o_ / sizeof o_[0]), o_); \
	} while (0)

static void *sym(void *h, const char *name) {
	void *f = dlsym(h, name);
	if (f == NULL) {
		printf("missing: %s\n", name);
		exit(1);
	}
	return f;
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: nvrtcmatch LIBNVRTC\n");
		return 2;
	}
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "nvrtcmatch: %s\n", dlerror());
		return 1;
	}
	GetErrorString = sym(h, "nvrtcGetErrorString");
	Version = sym(h, "nvrtcVersion");
	GetNumSupportedArchs = sym(h, "nvrtcGetNumSupportedArchs");
	GetSupportedArchs = sym(h, "nvrtcGetSupportedArchs");
	CreateProgram = sym(h, "nvrtcCreateProgram");
	DestroyProgram = sym(h, "nvrtcDestroyProgram");
	CompileProgram = sym(h, "nvrtcCompileProgram");
	GetProgramLogSize = sym(h, "nvrtcGetProgramLogSize");
	GetProgramLog = sym(h, "nvrtcGetProgramLog");
	GetCUBINSize = sym(h, "nvrtcGetCUBINSize");
	GetCUBIN = sym(h, "nvrtcGetCUBIN");
	GetPTXSize = sym(h, "nvrtcGetPTXSize");
	GetPTX = sym(h, "nvrtcGetPTX");

	int major = 0, minor = 0;
	R r = Version(&major, &minor);
	printf("version: status=%d %d.%d\n", r, major, minor);
	printf("version(NULL): %d\n", Version(NULL, NULL));
	int na = 0;
	r = GetNumSupportedArchs(&na);
	int *archs = calloc((size_t)na + 1, sizeof *archs);
	printf("archs: status=%d/%d", r, GetSupportedArchs(archs));
	for (int i = 0; i < na; i++) printf(" %d", archs[i]);
	printf("\n");
	printf("num_archs(NULL): %d\n", GetNumSupportedArchs(NULL));
	printf("archs(NULL): %d\n", GetSupportedArchs(NULL));
	for (int i = -1; i <= 20; i++) printf("error_string(%d): %s\n", i, GetErrorString(i));

	/* Argument checks. */
	void *p = NULL;
	printf("create(NULL prog): %d\n", CreateProgram(NULL, good, "prog.cu", 0, NULL, NULL));
	printf("create(NULL src): %d\n", CreateProgram(&p, NULL, "prog.cu", 0, NULL, NULL));
	printf("create(-1 headers): %d\n", CreateProgram(&p, good, "prog.cu", -1, NULL, NULL));
	printf("destroy(NULL): %d\n", DestroyProgram(NULL));
	p = NULL;
	printf("destroy(&NULL): %d\n", DestroyProgram(&p));
	printf("compile(NULL prog): %d\n", CompileProgram(NULL, 0, NULL));
	r = CreateProgram(&p, good, "prog.cu", 0, NULL, NULL);
	size_t sz = 12345;
	char buf[16];
	/* One call per statement: the order of a call's arguments is unspecified. */
	r = GetProgramLogSize(p, &sz);
	printf("before compile: log_size=%d/%zu", r, sz);
	sz = 12345;
	r = GetCUBINSize(p, &sz);
	printf(" cubin_size=%d/%zu", r, sz);
	printf(" cubin=%d", GetCUBIN(p, buf));
	sz = 12345;
	r = GetPTXSize(p, &sz);
	printf(" ptx_size=%d/%zu", r, sz);
	printf(" ptx=%d\n", GetPTX(p, buf));
	printf("compile(1, NULL options): %d\n", CompileProgram(p, 1, NULL));
	printf("compile(-1 options): %d\n", CompileProgram(p, -1, NULL));
	const char *null_opt[] = {NULL};
	printf("compile(NULL option): %d\n", CompileProgram(p, 1, null_opt));
	printf("cubin_size(NULL): %d\n", GetCUBINSize(p, NULL));
	printf("ptx_size(NULL): %d\n", GetPTXSize(p, NULL));
	printf("log_size(NULL): %d\n", GetProgramLogSize(p, NULL));
	printf("cubin(NULL): %d\n", GetCUBIN(p, NULL));
	printf("ptx(NULL): %d\n", GetPTX(p, NULL));
	printf("log(NULL): %d\n", GetProgramLog(p, NULL));
	DestroyProgram(&p);

	/* The options deepres passes: a CUBIN for the device's sm_XY, or PTX
	 * for a virtual compute_XY (gpu/arch.go), with ptxas's report. */
	COMPILE("sm_80 c++17", good, "--gpu-architecture=sm_80", "--std=c++17");
	COMPILE("compute_80 c++17", good, "--gpu-architecture=compute_80", "--std=c++17");
	COMPILE("sm_80 -v", good, "--gpu-architecture=sm_80", "--std=c++17", "--ptxas-options=-v");
	COMPILE("compute_80 -v", good, "--gpu-architecture=compute_80", "--ptxas-options=-v");
	compile_case("no options", good, "prog.cu", 0, NULL);
	compile_case("no name", bad, NULL, 0, NULL);

	/* The ends of the supported list and just beyond. */
	char lo[48], hi[48], above[48], below[48], vlo[48], vhi[48], vabove[48];
	snprintf(lo, sizeof lo, "--gpu-architecture=sm_%d", archs[0]);
	snprintf(hi, sizeof hi, "--gpu-architecture=sm_%d", archs[na - 1]);
	snprintf(above, sizeof above, "--gpu-architecture=sm_%d", archs[na - 1] + 1);
	snprintf(below, sizeof below, "--gpu-architecture=sm_%d", archs[0] - 1);
	snprintf(vlo, sizeof vlo, "--gpu-architecture=compute_%d", archs[0]);
	snprintf(vhi, sizeof vhi, "--gpu-architecture=compute_%d", archs[na - 1]);
	snprintf(vabove, sizeof vabove, "--gpu-architecture=compute_%d", archs[na - 1] + 10);
	COMPILE("lowest sm", good, lo);
	COMPILE("highest sm", good, hi);
	COMPILE("above highest sm", good, above);
	COMPILE("below lowest sm", good, below);
	COMPILE("lowest compute", good, vlo);
	COMPILE("highest compute", good, vhi);
	COMPILE("above highest compute", good, vabove);
	COMPILE("sm_35", good, "--gpu-architecture=sm_35");
	COMPILE("sm_200", good, "--gpu-architecture=sm_200");

	/* Bad options. */
	COMPILE("unknown option", good, "--frobnicate");
	COMPILE("arch bogus", good, "--gpu-architecture=bogus");
	COMPILE("arch empty", good, "--gpu-architecture=");
	COMPILE("arch missing value", good, "--gpu-architecture");
	COMPILE("-arch value", good, "-arch", "sm_80");
	COMPILE("-arch=", good, "-arch=sm_80");
	COMPILE("std c++99", good, "--std=c++99");
	COMPILE("std c++20", good, "--std=c++20");
	COMPILE("-std=c++17", good, "-std=c++17");
	COMPILE("std missing value", good, "--std");
	COMPILE("second arch", good, "--gpu-architecture=sm_80", "--gpu-architecture=sm_86");

	/* A compile error, and a program compiled twice. */
	COMPILE("error sm_80", bad, "--gpu-architecture=sm_80");
	p = NULL;
	CreateProgram(&p, good, "prog.cu", 0, NULL, NULL);
	const char *o1[] = {"--gpu-architecture=sm_80"}, *o2[] = {"--frobnicate"};
	CompileProgram(p, 1, o1);
	r = CompileProgram(p, 1, o2);
	sz = 12345;
	R cr = GetCUBINSize(p, &sz);
	printf("recompile with a bad option: %s cubin_size=%d/%d\n", GetErrorString(r), cr, sz > 0 && sz != 12345);
	DestroyProgram(&p);
	return 0;
}
