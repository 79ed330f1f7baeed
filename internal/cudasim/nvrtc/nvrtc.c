/*
 * nvrtc.c: the simulated libnvrtc.so.13 (NVRTC User Guide, "NVRTC API").
 *
 * nvrtcCompileProgram compiles the program with the host C++ compiler
 * (CUDASIM_CXX, default g++) into a shared object: the prelude (prelude.c),
 * the program, then launch trampolines generated from its extern "C"
 * __global__ signatures (gen.c). A program that does not compile gives
 * NVRTC_ERROR_COMPILATION and the compiler's messages as the program log,
 * as the real NVRTC does, in its form ("prog.cu(2): error: ..."). The options
 * are checked as the claimed release checks them (options.c, version.c):
 * an architecture it does not list is NVRTC_ERROR_INVALID_OPTION.
 * nvrtcGetCUBIN hands back that object behind a header (simmodule.h),
 * nvrtcGetPTX the same as text; only the simulated cuModuleLoadData loads
 * either.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cudasim.h"
#include "nvrtc.h"
#include "simmodule.h"

extern char **environ;

typedef enum {
	NVRTC_SUCCESS = 0,
	NVRTC_ERROR_OUT_OF_MEMORY = 1,
	NVRTC_ERROR_PROGRAM_CREATION_FAILURE = 2,
	NVRTC_ERROR_INVALID_INPUT = 3,
	NVRTC_ERROR_INVALID_PROGRAM = 4,
	NVRTC_ERROR_INVALID_OPTION = 5,
	NVRTC_ERROR_COMPILATION = 6,
	NVRTC_ERROR_BUILTIN_OPERATION_FAILURE = 7,
	NVRTC_ERROR_INTERNAL_ERROR = 11,
} nvrtcResult;

#define PROGRAM_MAGIC 0x4e565254u

struct _nvrtcProgram {
	uint32_t magic;
	char *src, *name;
	int nheaders;
	char **headers, **include_names;
	struct buf log;
	char *cubin; /* header + shared object */
	size_t cubin_size;
	char *ptx; /* the same object as text (ptx.c), NUL-terminated */
	size_t ptx_size;
	int compiled, virtual_arch;
};
typedef struct _nvrtcProgram *nvrtcProgram;

/* nvrtcGetErrorString: "returns a string describing the given nvrtcResult
 * code, e.g., NVRTC_SUCCESS to "NVRTC_SUCCESS". For unrecognized enumeration
 * values, it returns "NVRTC_ERROR unknown"." The codes a release knows are
 * its nvrtc.h's (12.8: up to NVRTC_ERROR_CANCELLED, 13.5: NVRTC_ERROR_BUSY). */
CUDASIM_API const char *nvrtcGetErrorString(nvrtcResult result) {
	CUDASIM_API_CALL();
	static const char *names[] = {
		"NVRTC_SUCCESS", "NVRTC_ERROR_OUT_OF_MEMORY", "NVRTC_ERROR_PROGRAM_CREATION_FAILURE",
		"NVRTC_ERROR_INVALID_INPUT", "NVRTC_ERROR_INVALID_PROGRAM", "NVRTC_ERROR_INVALID_OPTION",
		"NVRTC_ERROR_COMPILATION", "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE",
		"NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION", "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION",
		"NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID", "NVRTC_ERROR_INTERNAL_ERROR", "NVRTC_ERROR_TIME_FILE_WRITE_FAILED",
		"NVRTC_ERROR_NO_PCH_CREATE_ATTEMPTED", "NVRTC_ERROR_PCH_CREATE_HEAP_EXHAUSTED", "NVRTC_ERROR_PCH_CREATE",
		"NVRTC_ERROR_CANCELLED", "NVRTC_ERROR_TIME_TRACE_FILE_WRITE_FAILED", "NVRTC_ERROR_BUSY",
	};
	if ((unsigned)result < sizeof names / sizeof names[0] && (int)result <= cs_nvrtc()->last_result) return names[result];
	return "NVRTC_ERROR unknown";
}

/* nvrtcVersion: "the CUDA Runtime Compilation version number" (version.c). */
CUDASIM_API nvrtcResult nvrtcVersion(int *major, int *minor) {
	CUDASIM_API_CALL();
	if (major == NULL || minor == NULL) return NVRTC_ERROR_INVALID_INPUT;
	*major = cs_nvrtc()->major;
	*minor = cs_nvrtc()->minor;
	return NVRTC_SUCCESS;
}

/* nvrtcGetNumSupportedArchs: "the number of architectures supported by
 * NVRTC" (NVRTC 11.2+); the list is the claimed release's (version.c). */
CUDASIM_API nvrtcResult nvrtcGetNumSupportedArchs(int *numArchs) {
	CUDASIM_API_CALL();
	if (numArchs == NULL) return NVRTC_ERROR_INVALID_INPUT;
	int n = 0;
	while (cs_nvrtc()->archs[n]) n++;
	*numArchs = n;
	return NVRTC_SUCCESS;
}

/* nvrtcGetSupportedArchs: "populates the array ... with the architectures
 * supported by NVRTC. The array is sorted in the ascending order." */
CUDASIM_API nvrtcResult nvrtcGetSupportedArchs(int *supportedArchs) {
	CUDASIM_API_CALL();
	if (supportedArchs == NULL) return NVRTC_ERROR_INVALID_INPUT;
	for (int i = 0; cs_nvrtc()->archs[i]; i++) supportedArchs[i] = cs_nvrtc()->archs[i];
	return NVRTC_SUCCESS;
}

static int valid(nvrtcProgram p) { return p != NULL && p->magic == PROGRAM_MAGIC; }

/* nvrtcCreateProgram: src must not be NULL; name NULL means
 * "default_program"; numHeaders must be >= 0, and headers/includeNames
 * give the contents and #include names of extra headers. A NULL prog is
 * NVRTC_ERROR_INVALID_PROGRAM, as the real library answers. */
CUDASIM_API nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name, int numHeaders,
	const char *const *headers, const char *const *includeNames) {
	CUDASIM_API_CALL();
	if (prog == NULL) return NVRTC_ERROR_INVALID_PROGRAM;
	if (src == NULL || numHeaders < 0) return NVRTC_ERROR_INVALID_INPUT;
	if (numHeaders > 0 && (headers == NULL || includeNames == NULL)) return NVRTC_ERROR_INVALID_INPUT;
	struct _nvrtcProgram *p = calloc(1, sizeof *p);
	if (p == NULL) return NVRTC_ERROR_OUT_OF_MEMORY;
	p->magic = PROGRAM_MAGIC;
	p->src = strdup(src);
	p->name = strdup(name ? name : "default_program");
	p->nheaders = numHeaders;
	p->headers = calloc((size_t)numHeaders + 1, sizeof(char *));
	p->include_names = calloc((size_t)numHeaders + 1, sizeof(char *));
	for (int i = 0; i < numHeaders; i++) {
		if (headers[i] == NULL || includeNames[i] == NULL || strchr(includeNames[i], '/') != NULL) {
			/* (Headers go into one folder: a path in an include name is not simulated.) */
			p->nheaders = i;
			p->magic = 0;
			free(p);
			return NVRTC_ERROR_INVALID_INPUT;
		}
		p->headers[i] = strdup(headers[i]);
		p->include_names[i] = strdup(includeNames[i]);
	}
	*prog = p;
	return NVRTC_SUCCESS;
}

static void clear_output(nvrtcProgram p) {
	free(p->cubin);
	free(p->ptx);
	p->cubin = p->ptx = NULL;
	p->cubin_size = p->ptx_size = 0;
	p->compiled = p->virtual_arch = 0;
}

/* nvrtcDestroyProgram: NVRTC_ERROR_INVALID_PROGRAM for a bad *prog. */
CUDASIM_API nvrtcResult nvrtcDestroyProgram(nvrtcProgram *prog) {
	CUDASIM_API_CALL();
	if (prog == NULL || !valid(*prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	nvrtcProgram p = *prog;
	p->magic = 0;
	for (int i = 0; i < p->nheaders; i++) {
		free(p->headers[i]);
		free(p->include_names[i]);
	}
	free(p->headers);
	free(p->include_names);
	free(p->src);
	free(p->name);
	free(p->log.p);
	clear_output(p);
	free(p);
	*prog = NULL;
	return NVRTC_SUCCESS;
}

static int write_file(const char *path, const char *data, size_t n) {
	FILE *f = fopen(path, "w");
	if (f == NULL) return 0;
	int ok = fwrite(data, 1, n, f) == n;
	return fclose(f) == 0 && ok;
}

static char *read_file(const char *path, size_t *n) {
	FILE *f = fopen(path, "rb");
	if (f == NULL) return NULL;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *d = malloc(sz > 0 ? (size_t)sz : 1);
	*n = d && sz >= 0 ? fread(d, 1, (size_t)sz, f) : 0;
	fclose(f);
	return d;
}

static void remove_dir(const char *dir, nvrtcProgram p) {
	char path[4096 + 256];
	const char *files[] = {"program.cc", "cudasim_prelude.h", "module.so", "compile.log"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	for (int i = 0; i < p->nheaders; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, p->include_names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* gcc's messages in NVRTC's form: "prog.cu:2:20: error: ..." becomes
 * "prog.cu(2): error: ...", and the log ends as NVRTC's does, with
 * "1 error detected in the compilation of "prog.cu"." (measured). */
static void nvrtc_style(const char *gcc, const char *name, struct buf *log) {
	int errors = 0;
	for (const char *l = gcc; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) + 1 : strlen(l);
		char file[256], kind[16];
		int line, col, used = 0;
		if (sscanf(l, "%255[^:\n]:%d:%d: %15[a-z]: %n", file, &line, &col, kind, &used) == 4 && used > 0 &&
			(size_t)used <= n) {
			buf_printf(log, "%s(%d): %s: ", file, line, kind);
			buf_add(log, l + used, n - (size_t)used);
			errors += strcmp(kind, "error") == 0;
		} else {
			buf_add(log, l, n);
		}
		l += n;
	}
	if (errors > 0) {
		buf_printf(log, "\n%d error%s detected in the compilation of \"%s\".\n", errors, errors > 1 ? "s" : "", name);
	}
}

/* ptxas -v's report of each kernel, in its format ("ptxas info    :
 * Compiling entry function 'k' for 'sm_80'", "Function properties for k").
 * The simulator has no ptxas: it claims no stack, no spills and gives no
 * register count rather than invent one. */
static void ptxas_report(const char *names, int arch, struct buf *log) {
	for (const char *n = names; *n;) {
		const char *e = strchr(n, '\n');
		int len = (int)(e - n);
		buf_printf(log, "ptxas info    : Compiling entry function '%.*s' for 'sm_%d'\n", len, n, arch);
		buf_printf(log, "ptxas info    : Function properties for %.*s\n", len, n);
		buf_printf(log, "ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n");
		n = e + 1;
	}
}

/* The module as PTX text (simmodule.h): a header in PTX's form that names
 * the release and the target, then the image in hex, NUL-terminated as
 * nvrtcGetPTX's output is. */
static int make_ptx(nvrtcProgram p, int arch) {
	const struct cs_nvrtc_version *v = cs_nvrtc();
	struct buf t = {0};
	buf_printf(&t, "//\n// Generated by the cudasim NVRTC (a CPU simulator): not PTX, only the simulated driver loads it\n//\n"
		"// Cuda compilation tools, release %d.%d, cudasim\n//\n\n.target sm_%d\n.address_size 64\n" CUDASIM_PTX_MARKER,
		v->major, v->minor, arch);
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < p->cubin_size; i++) {
		char h[2] = {hex[(unsigned char)p->cubin[i] >> 4], hex[(unsigned char)p->cubin[i] & 15]};
		buf_add(&t, h, 2);
	}
	buf_add(&t, "\n", 1);
	p->ptx = t.p;
	p->ptx_size = t.n + 1;
	return t.p != NULL;
}

/* nvrtcCompileProgram: "compiles the given program"; NVRTC_ERROR_COMPILATION
 * when it does not compile, the messages in the program log. A refused
 * option leaves the previous compilation's output in place, as the real
 * library does (measured). */
CUDASIM_API nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char *const *options) {
	CUDASIM_API_CALL();
	if (!valid(prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	prog->log.n = 0;
	buf_add(&prog->log, "", 0);
	struct cs_options o;
	int status;
	if (!cs_parse_options(numOptions, options, &o, &prog->log, &status)) {
		cs_options_free(&o);
		return (nvrtcResult)status;
	}
	clear_output(prog);
	/* NVRTC's own ptxas resolves the device runtime's cudaGraphSetConditional
	 * in a CUBIN only from 12.3: measured with NVIDIA's libnvrtc 12.2.140,
	 * which answers exactly this line, while 12.3.107, 12.8.93 and 13.5.37
	 * compile deepres's setter (gpu/branch.go setterNVRTC). */
	if (!o.virtual_arch && cs_nvrtc()->major == 12 && cs_nvrtc()->minor < 3 && strstr(prog->src, "cudaGraphSetConditional(")) {
		buf_printf(&prog->log, "ptxas fatal   : Unresolved extern function 'cudaGraphSetConditional'\n");
		cs_options_free(&o);
		return NVRTC_ERROR_COMPILATION;
	}

	char *argv[64 + 16];
	int argc = 0;
	const char *cxx = getenv("CUDASIM_CXX");
	argv[argc++] = strdup(cxx && *cxx ? cxx : "g++");
	for (int i = 0; i < o.ndefines; i++) argv[argc++] = strdup(o.defines[i]);
	argv[argc++] = strdup(o.std);
	cs_options_free(&o);

	/* The translation unit: prelude, the program (its lines numbered as
	 * its own), the generated launch code. */
	struct buf src = {0}, names = {0};
	buf_add(&names, "", 0);
	buf_printf(&src, "#include \"cudasim_prelude.h\"\n#line 1 \"%s\"\n", prog->name);
	buf_add(&src, prog->src, strlen(prog->src));
	char err[512] = "";
	int nk = cs_generate(prog->src, &src, &names, err, sizeof err);
	if (nk < 0) {
		buf_printf(&prog->log, "%s: error: %s\n", prog->name, err);
		free(src.p);
		free(names.p);
		for (int j = 0; j < argc; j++) free(argv[j]);
		return NVRTC_ERROR_COMPILATION;
	}

	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/cudasim-nvrtc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		free(src.p);
		free(names.p);
		for (int j = 0; j < argc; j++) free(argv[j]);
		return NVRTC_ERROR_BUILTIN_OPERATION_FAILURE;
	}
	char path[4096 + 64], out[4096 + 64], logpath[4096 + 64];
	snprintf(path, sizeof path, "%s/cudasim_prelude.h", dir);
	int ok = write_file(path, cs_prelude, strlen(cs_prelude));
	for (int i = 0; ok && i < prog->nheaders; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, prog->include_names[i]);
		ok = write_file(path, prog->headers[i], strlen(prog->headers[i]));
	}
	snprintf(path, sizeof path, "%s/program.cc", dir);
	ok = ok && write_file(path, src.p, src.n);
	free(src.p);
	snprintf(out, sizeof out, "%s/module.so", dir);
	snprintf(logpath, sizeof logpath, "%s/compile.log", dir);

	const char *fixed[] = {"-O2", "-fPIC", "-shared", "-fno-math-errno", "-fno-exceptions", "-w", "-I", dir, "-o", out,
		path, NULL};
	for (int i = 0; fixed[i]; i++) argv[argc++] = strdup(fixed[i]);
	argv[argc] = NULL;

	int status_code = -1;
	if (ok) {
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
		pid_t pid;
		if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0) {
			while (waitpid(pid, &status_code, 0) < 0 && errno == EINTR) {}
		} else {
			buf_printf(&prog->log, "nvrtc (cudasim): cannot run the host compiler %s: %s\n", argv[0], strerror(errno));
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	for (int j = 0; j < argc; j++) free(argv[j]);
	size_t n = 0;
	char *log = read_file(logpath, &n);
	if (log) {
		/* The compiler names the program by its own name (#line above). */
		char *text = malloc(n + 1);
		memcpy(text, log, n);
		text[n] = 0;
		nvrtc_style(text, prog->name, &prog->log);
		free(text);
		free(log);
	}
	nvrtcResult r = NVRTC_SUCCESS;
	if (!ok || status_code == -1) {
		r = NVRTC_ERROR_BUILTIN_OPERATION_FAILURE;
	} else if (!WIFEXITED(status_code) || WEXITSTATUS(status_code) != 0) {
		r = NVRTC_ERROR_COMPILATION;
	} else {
		char *so = read_file(out, &n);
		uint64_t size = n;
		prog->cubin_size = CUDASIM_IMAGE_MAGIC_LEN + sizeof size + n;
		prog->cubin = malloc(prog->cubin_size);
		if (so == NULL || prog->cubin == NULL) {
			r = NVRTC_ERROR_OUT_OF_MEMORY;
		} else {
			memcpy(prog->cubin, CUDASIM_IMAGE_MAGIC, CUDASIM_IMAGE_MAGIC_LEN);
			memcpy(prog->cubin + CUDASIM_IMAGE_MAGIC_LEN, &size, sizeof size);
			memcpy(prog->cubin + CUDASIM_IMAGE_MAGIC_LEN + sizeof size, so, n);
			if (!make_ptx(prog, o.arch)) {
				r = NVRTC_ERROR_OUT_OF_MEMORY;
			} else {
				prog->compiled = 1;
				prog->virtual_arch = o.virtual_arch;
				/* ptxas runs only for a real architecture. */
				if (o.verbose && !o.virtual_arch) ptxas_report(names.p, o.arch, &prog->log);
			}
		}
		free(so);
	}
	if (r != NVRTC_SUCCESS) clear_output(prog);
	free(names.p);
	remove_dir(dir, prog);
	return r;
}

/* nvrtcGetProgramLogSize: logSizeRet is the "Size of the generated log
 * (including the trailing NULL)". */
CUDASIM_API nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t *logSizeRet) {
	CUDASIM_API_CALL();
	if (!valid(prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	if (logSizeRet == NULL) return NVRTC_ERROR_INVALID_INPUT;
	*logSizeRet = prog->log.n + 1;
	return NVRTC_SUCCESS;
}

CUDASIM_API nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char *log) {
	CUDASIM_API_CALL();
	if (!valid(prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	if (log == NULL) return NVRTC_ERROR_INVALID_INPUT;
	if (prog->log.n) memcpy(log, prog->log.p, prog->log.n);
	log[prog->log.n] = 0;
	return NVRTC_SUCCESS;
}

/* nvrtcGetCUBINSize: the size of "the cubin generated by the previous
 * compilation", 0 "if the value specified to -arch is a virtual
 * architecture" and, as the real library answers, 0 before a successful
 * compilation. */
CUDASIM_API nvrtcResult nvrtcGetCUBINSize(nvrtcProgram prog, size_t *cubinSizeRet) {
	CUDASIM_API_CALL();
	if (!valid(prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	if (cubinSizeRet == NULL) return NVRTC_ERROR_INVALID_INPUT;
	*cubinSizeRet = prog->compiled && !prog->virtual_arch ? prog->cubin_size : 0;
	return NVRTC_SUCCESS;
}

/* nvrtcGetCUBIN: writes nothing, and succeeds, when there is no CUBIN (as
 * the real library does for a virtual architecture or before compiling). */
CUDASIM_API nvrtcResult nvrtcGetCUBIN(nvrtcProgram prog, char *cubin) {
	CUDASIM_API_CALL();
	if (!valid(prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	if (cubin == NULL) return NVRTC_ERROR_INVALID_INPUT;
	if (prog->compiled && !prog->virtual_arch) memcpy(cubin, prog->cubin, prog->cubin_size);
	return NVRTC_SUCCESS;
}

/* nvrtcGetPTXSize: "Size of the generated PTX (including the trailing
 * NULL)": 1 when nothing was compiled (measured). Every compilation has
 * PTX, for sm_XY as for compute_XY. */
CUDASIM_API nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t *ptxSizeRet) {
	CUDASIM_API_CALL();
	if (!valid(prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	if (ptxSizeRet == NULL) return NVRTC_ERROR_INVALID_INPUT;
	*ptxSizeRet = prog->compiled ? prog->ptx_size : 1;
	return NVRTC_SUCCESS;
}

CUDASIM_API nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char *ptx) {
	CUDASIM_API_CALL();
	if (!valid(prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	if (ptx == NULL) return NVRTC_ERROR_INVALID_INPUT;
	if (prog->compiled) memcpy(ptx, prog->ptx, prog->ptx_size);
	else ptx[0] = 0;
	return NVRTC_SUCCESS;
}
