/*
 * options.c: nvrtcCompileProgram's options (NVRTC User Guide, "Supported
 * Compile Options"), refused with the status and the log line NVIDIA's
 * real NVRTC gives (measured on 12.8.93 and 13.5.37 by nvrtcmatch.c;
 * version.c holds what differs between releases). An option the simulator
 * does not know is refused as the real library refuses an unknown one, so
 * that a new option is looked at rather than ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nvrtc.h"

enum { INVALID_INPUT = 3, INVALID_OPTION = 5 };

/* sm_XY, compute_XY (with the architecture-specific a/f suffixes): is XY a
 * listed architecture? */
static int parse_arch(const char *v, int *arch, int *virt) {
	const char *d;
	if (v == NULL) return 0;
	if (strncmp(v, "sm_", 3) == 0) d = v + 3, *virt = 0;
	else if (strncmp(v, "compute_", 8) == 0) d = v + 8, *virt = 1;
	else return 0;
	char *end;
	long n = strtol(d, &end, 10);
	if (end == d || *d < '1' || *d > '9') return 0;
	if (*end == 'a' || *end == 'f') end++;
	if (*end != 0 || !cs_nvrtc_supports((int)n)) return 0;
	*arch = (int)n;
	return 1;
}

int cs_parse_options(int n, const char *const *opts, struct cs_options *o, struct buf *log, int *status) {
	const struct cs_nvrtc_version *v = cs_nvrtc();
	memset(o, 0, sizeof *o);
	o->arch = v->default_arch;
	o->virtual_arch = 1; /* no --gpu-architecture: PTX for the default compute_XY */
	snprintf(o->std, sizeof o->std, "-std=c++17"); /* NVRTC's default dialect is C++17 */
	*status = INVALID_OPTION;
	if (n < 0) {
		*status = INVALID_INPUT;
		return 0;
	}
	if (n > 0 && opts == NULL) {
		buf_printf(log, "nvrtc: error: number of arguments supplied does not match number of arguments specified\n");
		return 0;
	}
	int arch_given = 0;
	for (int i = 0; i < n; i++) {
		const char *a = opts[i], *val = NULL;
		if (a == NULL) {
			buf_printf(log, "nvrtc: error: number of arguments supplied does not match number of arguments specified\n");
			return 0;
		}
		int is_arch = 0;
		if (strncmp(a, "--gpu-architecture=", 19) == 0) val = a + 19, is_arch = 1;
		else if (strncmp(a, "-arch=", 6) == 0) val = a + 6, is_arch = 1;
		else if (strcmp(a, "--gpu-architecture") == 0 || strcmp(a, "-arch") == 0) {
			val = i + 1 < n ? opts[++i] : NULL;
			is_arch = 1;
		}
		if (is_arch) {
			int arch, virt;
			if (!parse_arch(val, &arch, &virt)) {
				buf_printf(log, "nvrtc: error: invalid value for --gpu-architecture (-arch)\n");
				return 0;
			}
			if (arch_given && !v->arch_twice_warns) {
				buf_printf(log, "nvrtc: error: --gpu-architecture (-arch) defined more than once\n");
				return 0;
			}
			if (arch_given) {
				buf_printf(log, "nvrtc: warning: \"--gpu-architecture(-arch)=%d\" followed by \"--gpu-architecture(-arch)=%d\"\n",
					o->arch, arch);
			}
			if (v->deprecated_below && arch < v->deprecated_below) {
				buf_printf(log, "nvrtc: warning: Architectures prior to '<compute/sm>_%d' are deprecated and may be removed in a future release\n",
					v->deprecated_below);
			}
			o->arch = arch, o->virtual_arch = virt, arch_given = 1;
			continue;
		}
		if (strncmp(a, "--std=", 6) == 0 || strncmp(a, "-std=", 5) == 0) {
			const char *s = strchr(a, '=') + 1;
			if (strcmp(s, "c++03") && strcmp(s, "c++11") && strcmp(s, "c++14") && strcmp(s, "c++17") && strcmp(s, "c++20")) {
				buf_printf(log, "nvrtc: error: %s\n", v->std_invalid);
				return 0;
			}
			snprintf(o->std, sizeof o->std, "-std=%s", s);
			continue;
		}
		/* ptxas's options: the simulator has no ptxas; -v makes it report
		 * each kernel as ptxas -v does (nvrtc.c), the others are accepted. */
		if (strncmp(a, "--ptxas-options=", 16) == 0 || strncmp(a, "-Xptxas=", 8) == 0 ||
			((strcmp(a, "--ptxas-options") == 0 || strcmp(a, "-Xptxas") == 0) && i + 1 < n)) {
			const char *p = strchr(a, '=') ? strchr(a, '=') + 1 : opts[++i];
			if (strcmp(p, "-v") == 0 || strcmp(p, "--verbose") == 0) o->verbose = 1;
			continue;
		}
		if ((strncmp(a, "-D", 2) == 0 && a[2] != 0) || strncmp(a, "--define-macro=", 15) == 0) {
			if (o->ndefines == 64) return 0;
			char *d = malloc(strlen(a) + 3);
			snprintf(d, strlen(a) + 3, "-D%s", a[1] == 'D' ? a + 2 : a + 15);
			o->defines[o->ndefines++] = d;
			continue;
		}
		static const char *ignored[] = {
			/* Code generation and debug options with no meaning on the host. */
			"-lineinfo", "--generate-line-info", "-G", "--device-debug", "--use_fast_math", "-use_fast_math",
			"--fmad=true", "--fmad=false", "-fmad=true", "-fmad=false", "-default-device", "--device-as-default-execution-space",
			"-rdc=false", "--relocatable-device-code=false", "-w", "--disable-warnings", "-ftz=true", "-ftz=false",
			"-prec-div=true", "-prec-div=false", "-prec-sqrt=true", "-prec-sqrt=false", NULL,
		};
		int known = 0;
		for (int k = 0; ignored[k] && !known; k++) known = strcmp(a, ignored[k]) == 0;
		if (!known) {
			buf_printf(log, "nvrtc: error: unrecognized option %s found\n", a);
			return 0;
		}
	}
	return 1;
}

void cs_options_free(struct cs_options *o) {
	for (int i = 0; i < o->ndefines; i++) free(o->defines[i]);
	o->ndefines = 0;
}
