/*
 * nvrtc.c: the simulated libnvrtc.so.13 (NVRTC User Guide, "NVRTC API").
 *
 * nvrtcCompileProgram compiles the program with the host C++ compiler
 * (CUDASIM_CXX, default g++) into a shared object: the prelude (prelude.c),
 * the program, then launch trampolines generated from its extern "C"
 * __global__ signatures (gen.c). A program that does not compile gives
 * NVRTC_ERROR_COMPILATION and the compiler's messages as the program log,
 * as the real NVRTC does. nvrtcGetCUBIN hands back that object behind a
 * header (simmodule.h), which only the simulated cuModuleLoadData loads.
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
	int compiled, virtual_arch;
};
typedef struct _nvrtcProgram *nvrtcProgram;

/* nvrtcGetErrorString: "returns a string describing the given nvrtcResult
 * code, e.g., NVRTC_SUCCESS to "NVRTC_SUCCESS". For unrecognized enumeration
 * values, it returns "NVRTC_ERROR unknown"." */
CUDASIM_API const char *nvrtcGetErrorString(nvrtcResult result) {
	CUDASIM_API_CALL();
	static const char *names[] = {
		"NVRTC_SUCCESS", "NVRTC_ERROR_OUT_OF_MEMORY", "NVRTC_ERROR_PROGRAM_CREATION_FAILURE",
		"NVRTC_ERROR_INVALID_INPUT", "NVRTC_ERROR_INVALID_PROGRAM", "NVRTC_ERROR_INVALID_OPTION",
		"NVRTC_ERROR_COMPILATION", "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE",
		"NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION", "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION",
		"NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID", "NVRTC_ERROR_INTERNAL_ERROR",
	};
	if ((unsigned)result < sizeof names / sizeof names[0]) return names[result];
	return "NVRTC_ERROR unknown";
}

/* nvrtcVersion: "the CUDA Runtime Compilation version number": 13.0 here. */
CUDASIM_API nvrtcResult nvrtcVersion(int *major, int *minor) {
	CUDASIM_API_CALL();
	if (major == NULL || minor == NULL) return NVRTC_ERROR_INVALID_INPUT;
	*major = 13;
	*minor = 0;
	return NVRTC_SUCCESS;
}

static int valid(nvrtcProgram p) { return p != NULL && p->magic == PROGRAM_MAGIC; }

/* nvrtcCreateProgram: src must not be NULL; name NULL means
 * "default_program"; numHeaders must be >= 0, and headers/includeNames
 * give the contents and #include names of extra headers. */
CUDASIM_API nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name, int numHeaders,
	const char *const *headers, const char *const *includeNames) {
	CUDASIM_API_CALL();
	if (prog == NULL || src == NULL || numHeaders < 0) return NVRTC_ERROR_INVALID_INPUT;
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
	free(p->cubin);
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

/* The options deepres and common callers pass (NVRTC guide, "Supported
 * Compile Options"); anything else is NVRTC_ERROR_INVALID_OPTION, so that a
 * new option is looked at rather than ignored. Returns 0 and a log line for
 * a bad one. */
static int option(nvrtcProgram p, const char *o, const char *next, int *used_next, char **argv, int *argc, char *std,
	struct buf *log) {
	const char *v = NULL;
	*used_next = 0;
	if (strncmp(o, "--gpu-architecture=", 19) == 0) v = o + 19;
	else if (strncmp(o, "-arch=", 6) == 0) v = o + 6;
	else if (strcmp(o, "-arch") == 0 || strcmp(o, "--gpu-architecture") == 0) {
		v = next;
		*used_next = 1;
	}
	if (v != NULL) {
		/* sm_XY[a|f] is a real architecture, compute_XY a virtual one, for
		 * which no CUBIN exists ("nvrtcGetCUBINSize ... set to 0 if the value
		 * specified to -arch is a virtual architecture"). */
		int real = strncmp(v, "sm_", 3) == 0, virt = strncmp(v, "compute_", 8) == 0;
		const char *d = v + (real ? 3 : 8);
		if ((!real && !virt) || strlen(d) < 2 || d[0] < '1' || d[0] > '9') {
			buf_printf(log, "nvrtc: error: invalid value for --gpu-architecture (-arch): %s\n", v ? v : "(none)");
			return 0;
		}
		p->virtual_arch = virt;
		return 1;
	}
	if (strncmp(o, "--std=", 6) == 0 || strncmp(o, "-std=", 5) == 0) {
		const char *s = strchr(o, '=') + 1;
		if (strcmp(s, "c++03") && strcmp(s, "c++11") && strcmp(s, "c++14") && strcmp(s, "c++17") && strcmp(s, "c++20")) {
			buf_printf(log, "nvrtc: error: invalid value for --std: %s\n", s);
			return 0;
		}
		snprintf(std, 16, "-std=%s", s);
		return 1;
	}
	if (strncmp(o, "-D", 2) == 0 || strncmp(o, "--define-macro=", 15) == 0) {
		argv[(*argc)++] = strdup(o);
		if (o[1] == '-') snprintf(argv[*argc - 1], strlen(o) + 1, "-D%s", o + 15);
		return 1;
	}
	static const char *ignored[] = {
		/* Code generation and debug options with no meaning on the host. */
		"-lineinfo", "--generate-line-info", "-G", "--device-debug", "--use_fast_math", "-use_fast_math",
		"--fmad=true", "--fmad=false", "-fmad=true", "-fmad=false", "-default-device", "--device-as-default-execution-space",
		"-rdc=false", "--relocatable-device-code=false", "-w", "--disable-warnings", "-ftz=true", "-ftz=false",
		"-prec-div=true", "-prec-div=false", "-prec-sqrt=true", "-prec-sqrt=false", NULL,
	};
	for (int i = 0; ignored[i]; i++) {
		if (strcmp(o, ignored[i]) == 0) return 1;
	}
	buf_printf(log, "nvrtc: error: unrecognized option %s (not simulated)\n", o);
	return 0;
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

/* nvrtcCompileProgram: "compiles the given program"; NVRTC_ERROR_COMPILATION
 * when it does not compile, the messages in the program log. */
CUDASIM_API nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char *const *options) {
	CUDASIM_API_CALL();
	if (!valid(prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	if (numOptions < 0 || (numOptions > 0 && options == NULL)) return NVRTC_ERROR_INVALID_INPUT;
	prog->log.n = 0;
	buf_add(&prog->log, "", 0);
	free(prog->cubin);
	prog->cubin = NULL;
	prog->compiled = 0;
	prog->virtual_arch = 0;

	char *argv[64 + 16];
	int argc = 0;
	const char *cxx = getenv("CUDASIM_CXX");
	argv[argc++] = strdup(cxx && *cxx ? cxx : "g++");
	char std[16] = "-std=c++17"; /* NVRTC's default dialect is C++17 */
	for (int i = 0; i < numOptions; i++) {
		int used_next;
		if (options[i] == NULL || argc > 64 ||
			!option(prog, options[i], i + 1 < numOptions ? options[i + 1] : NULL, &used_next, argv, &argc, std, &prog->log)) {
			for (int j = 0; j < argc; j++) free(argv[j]);
			return NVRTC_ERROR_INVALID_OPTION;
		}
		i += used_next;
	}

	/* The translation unit: prelude, the program (its lines numbered as
	 * its own), the generated launch code. */
	struct buf src = {0};
	buf_printf(&src, "#include \"cudasim_prelude.h\"\n#line 1 \"%s\"\n", prog->name);
	buf_add(&src, prog->src, strlen(prog->src));
	char err[512] = "";
	int nk = cs_generate(prog->src, &src, err, sizeof err);
	if (nk < 0) {
		buf_printf(&prog->log, "%s: error: %s\n", prog->name, err);
		free(src.p);
		for (int j = 0; j < argc; j++) free(argv[j]);
		return NVRTC_ERROR_COMPILATION;
	}

	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/cudasim-nvrtc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		free(src.p);
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

	argv[argc++] = strdup(std);
	const char *fixed[] = {"-O2", "-fPIC", "-shared", "-fno-math-errno", "-fno-exceptions", "-w", "-I", dir, "-o", out,
		path, NULL};
	for (int i = 0; fixed[i]; i++) argv[argc++] = strdup(fixed[i]);
	argv[argc] = NULL;

	int status = -1;
	if (ok) {
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
		pid_t pid;
		if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0) {
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
		} else {
			buf_printf(&prog->log, "nvrtc (cudasim): cannot run the host compiler %s: %s\n", argv[0], strerror(errno));
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	for (int j = 0; j < argc; j++) free(argv[j]);
	size_t n = 0;
	char *log = read_file(logpath, &n);
	if (log) {
		/* The compiler names the temporary folder; the program's own name
		 * is what a user recognises (#line above). */
		buf_add(&prog->log, log, n);
		free(log);
	}
	nvrtcResult r = NVRTC_SUCCESS;
	if (!ok || status == -1) {
		r = NVRTC_ERROR_BUILTIN_OPERATION_FAILURE;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
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
			prog->compiled = 1;
		}
		free(so);
	}
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
 * architecture". Before a successful compilation: NVRTC_ERROR_INVALID_PROGRAM
 * (nothing to hand out). */
CUDASIM_API nvrtcResult nvrtcGetCUBINSize(nvrtcProgram prog, size_t *cubinSizeRet) {
	CUDASIM_API_CALL();
	if (!valid(prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	if (cubinSizeRet == NULL) return NVRTC_ERROR_INVALID_INPUT;
	if (!prog->compiled) return NVRTC_ERROR_INVALID_PROGRAM;
	*cubinSizeRet = prog->virtual_arch ? 0 : prog->cubin_size;
	return NVRTC_SUCCESS;
}

CUDASIM_API nvrtcResult nvrtcGetCUBIN(nvrtcProgram prog, char *cubin) {
	CUDASIM_API_CALL();
	if (!valid(prog)) return NVRTC_ERROR_INVALID_PROGRAM;
	if (cubin == NULL) return NVRTC_ERROR_INVALID_INPUT;
	if (!prog->compiled) return NVRTC_ERROR_INVALID_PROGRAM;
	if (prog->virtual_arch) return NVRTC_ERROR_INVALID_INPUT; /* no cubin for a virtual architecture */
	memcpy(cubin, prog->cubin, prog->cubin_size);
	return NVRTC_SUCCESS;
}
