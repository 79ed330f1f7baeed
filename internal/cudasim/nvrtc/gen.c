/*
 * gen.c: reads the extern "C" __global__ functions out of a program's
 * source and generates, in C++, what the simulated driver needs to launch
 * them (simmodule.h): per kernel, an entry that calls it with each
 * parameter read from the launch's argument array, the parameters' sizes
 * and which are pointers (from the compiler: sizeof and
 * std::is_pointer of the declared types), and whether it calls
 * __syncthreads, directly or through __device__ functions, so that the
 * driver runs its blocks with barrier semantics.
 *
 * NVRTC guide, "Accessing Lowered Names": only extern "C" kernels keep their
 * source names; C++ kernels need name expressions, which deepres does not use
 * and this simulator does not implement.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nvrtc.h"

void buf_add(struct buf *b, const char *s, size_t n) {
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL) abort();
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

void buf_printf(struct buf *b, const char *fmt, ...) {
	char tmp[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	buf_add(b, tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* The source with comments blanked (newlines kept); string and character
 * literals are kept but skipped over. */
static char *strip_comments(const char *src) {
	size_t n = strlen(src);
	char *s = strdup(src);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\'') {
			char q = s[i];
			for (i++; i < n && s[i] != q; i++) {
				if (s[i] == '\\') i++;
			}
		} else if (s[i] == '/' && s[i + 1] == '/') {
			while (i < n && s[i] != '\n') s[i++] = ' ';
		} else if (s[i] == '/' && s[i + 1] == '*') {
			for (; i < n && !(s[i] == '*' && s[i + 1] == '/'); i++) {
				if (s[i] != '\n') s[i] = ' ';
			}
			if (i < n) s[i] = s[i + 1] = ' ';
		}
	}
	return s;
}

static int ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Is the identifier word at s[i] (whole token)? */
static int word_at(const char *s, size_t i, const char *word) {
	size_t n = strlen(word);
	return strncmp(s + i, word, n) == 0 && (i == 0 || !ident(s[i - 1])) && !ident(s[i + n]);
}

/* The index of the bracket that closes the one at s[i], or 0. */
static size_t closing(const char *s, size_t i) {
	char open = s[i], close = open == '(' ? ')' : '}';
	int depth = 0;
	for (; s[i]; i++) {
		if (s[i] == open) depth++;
		else if (s[i] == close && --depth == 0) return i;
	}
	return 0;
}

struct func {
	char name[128];
	int global, externc, barrier;
	size_t params, params_end, body, body_end; /* [params, params_end) inside the parentheses */
};

/* Finds the functions declared __global__ or __device__ with a body. */
static int find_funcs(const char *s, struct func **out) {
	int n = 0, cap = 16;
	struct func *fs = malloc(cap * sizeof *fs);
	for (size_t i = 0; s[i]; i++) {
		int global = word_at(s, i, "__global__");
		if (!global && !word_at(s, i, "__device__")) continue;
		/* The name is the identifier before the first '(' of the declaration. */
		size_t p = i;
		while (s[p] && s[p] != '(' && s[p] != ';' && s[p] != '=' && s[p] != '{') p++;
		if (s[p] != '(') continue;
		size_t e = p;
		while (e > i && isspace((unsigned char)s[e - 1])) e--;
		size_t b = e;
		while (b > i && ident(s[b - 1])) b--;
		if (b == e || e - b >= sizeof fs[0].name) continue;
		size_t close = closing(s, p);
		if (close == 0) continue;
		size_t q = close + 1;
		while (s[q] && isspace((unsigned char)s[q])) q++;
		if (s[q] != '{') continue; /* a declaration */
		size_t end = closing(s, q);
		if (end == 0) continue;
		struct func f = {0};
		memcpy(f.name, s + b, e - b);
		f.global = global;
		f.params = p + 1;
		f.params_end = close;
		f.body = q;
		f.body_end = end;
		/* extern "C" before it, in the same declaration. */
		size_t k = i;
		while (k > 0 && s[k - 1] != ';' && s[k - 1] != '}' && s[k - 1] != '{' && s[k - 1] != '#') k--;
		char *decl = strndup(s + k, i - k);
		f.externc = strstr(decl, "extern \"C\"") != NULL;
		free(decl);
		if (n == cap) fs = realloc(fs, (cap *= 2) * sizeof *fs);
		fs[n++] = f;
		i = end;
	}
	*out = fs;
	return n;
}

/* calls reports whether body [b, e) of s names the barrier or a function
 * already known to reach it. */
static int calls(const char *s, size_t b, size_t e, struct func *fs, int n) {
	for (size_t i = b; i < e; i++) {
		if (!ident(s[i]) || (i > b && ident(s[i - 1]))) continue;
		if (word_at(s, i, "__syncthreads")) return 1;
		for (int j = 0; j < n; j++) {
			if (fs[j].barrier && word_at(s, i, fs[j].name)) return 1;
		}
	}
	return 0;
}

static void trim(const char **b, const char **e) {
	while (*b < *e && isspace((unsigned char)**b)) (*b)++;
	while (*e > *b && isspace((unsigned char)(*e)[-1])) (*e)--;
}

int cs_generate(const char *src, struct buf *out, struct buf *names, char *err, size_t errlen) {
	char *s = strip_comments(src);
	struct func *fs;
	int n = find_funcs(s, &fs);
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < n; i++) {
			if (!fs[i].barrier && calls(s, fs[i].body, fs[i].body_end, fs, n)) fs[i].barrier = changed = 1;
		}
	}
	struct buf table = {0};
	int nk = 0;
	buf_printf(out, "\n// ---- generated by the simulator's NVRTC ----\nnamespace cudasim_gen {\n");
	for (int i = 0; i < n; i++) {
		struct func *f = &fs[i];
		if (!f->global || !f->externc) continue;
		if (names != NULL) buf_printf(names, "%s\n", f->name);
		/* Split the parameters at top-level commas. */
		int np = 0;
		struct buf call = {0}, sizes = {0}, ptrs = {0};
		const char *p = s + f->params, *end = s + f->params_end;
		const char *pb = p, *pe = end;
		trim(&pb, &pe);
		int none = pb == pe || (pe - pb == 4 && strncmp(pb, "void", 4) == 0);
		int depth = 0;
		for (const char *c = p; !none && c <= end; c++) {
			if (c < end && (*c == '(' || *c == '<' || *c == '[')) depth++;
			if (c < end && (*c == ')' || *c == '>' || *c == ']')) depth--;
			if (c < end && (*c != ',' || depth > 0)) continue;
			const char *b = p, *e = c;
			trim(&b, &e);
			/* The declared name is the last identifier; the type is what precedes it. */
			const char *ne = e, *nb = e;
			while (nb > b && ident(nb[-1])) nb--;
			if (nb == ne || nb == b) {
				snprintf(err, errlen, "kernel %s: cannot read parameter %d (\"%.*s\")", f->name, np, (int)(e - b), b);
				free(s);
				free(fs);
				return -1;
			}
			buf_printf(out, "using T%d_%d = %.*s;\n", nk, np, (int)(nb - b), b);
			buf_printf(&call, "%s*(T%d_%d *)a[%d]", np ? ", " : "", nk, np, np);
			buf_printf(&sizes, "sizeof(T%d_%d), ", nk, np);
			buf_printf(&ptrs, "std::is_pointer<T%d_%d>::value, ", nk, np);
			np++;
			p = c + 1;
		}
		buf_printf(out, "static void entry%d(void *const *a) { (void)a; ::%s(%s); }\n", nk, f->name, call.p ? call.p : "");
		buf_printf(out, "static const unsigned int sizes%d[] = {%s0};\n", nk, sizes.p ? sizes.p : "");
		buf_printf(out, "static const unsigned char ptrs%d[] = {%s0};\n", nk, ptrs.p ? ptrs.p : "");
		buf_printf(&table, "\t{\"%s\", %d, cudasim_gen::sizes%d, cudasim_gen::ptrs%d, %d, cudasim_gen::entry%d},\n", f->name,
			np, nk, nk, f->barrier, nk);
		free(call.p);
		free(sizes.p);
		free(ptrs.p);
		nk++;
	}
	buf_printf(out, "}\nstatic const cudasim_kernel cudasim_table[] = {\n%s\t{nullptr, 0, nullptr, nullptr, 0, nullptr},\n};\n",
		table.p ? table.p : "");
	buf_printf(out, "extern \"C\" __attribute__((visibility(\"default\"))) const cudasim_kernel *cudasim_module_kernels(int *n) "
		"{ *n = %d; return cudasim_table; }\n", nk);
	free(table.p);
	free(s);
	free(fs);
	return nk;
}
