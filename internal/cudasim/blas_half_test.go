package cudasim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBlasGemmEx proves the simulated cublasGemmEx: float16 and bfloat16
// A and B with C of their type or float, float compute, give bit for bit
// cublasSgemm_v2 on the same widened inputs (C half: that result rounded
// once, to nearest even), with transposes, padded leading dimensions and
// beta reading the half C; the FAST compute types and TF32 math round as
// documented; every other combination is NOT_SUPPORTED, bad arguments
// INVALID_VALUE.
func TestBlasGemmEx(t *testing.T) {
	needBuild(t) // the package's simulator (TestMain), built once
	lib := simDir
	dir := t.TempDir()
	c := filepath.Join(dir, "gemmex.c")
	if err := os.WriteFile(c, []byte(dnnPrelude+blasGemmExSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "gemmex")
	cmd := exec.Command("gcc", "-std=gnu11", "-O1", "-Wall", "-o", exe, c, "-L"+lib, "-l:libcublas.so.13", "-l:libcudnn.so.9",
		"-l:libcuda.so.1", "-Wl,-rpath,"+lib, "-lm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compile: %v\n%s", err, out)
	}
	out := dnnMustRun(t, exe)
	t.Log(strings.TrimSpace(out))
}

// The prototype is cublas_api.h's (CUDA 12 and 13), enums as ints.
const blasGemmExSrc = `
int cublasCreate_v2(void **);
int cublasSetStream_v2(void *, CUstream);
int cublasSetMathMode(void *, int);
int cublasSgemm_v2(void *, int, int, int, int, int, const float *, const float *, int, const float *, int, const float *, float *, int);
int cublasGemmEx(void *, int, int, int, int, int, const void *, const void *, int, int, const void *, int, int,
	const void *, void *, int, int, int, int);
enum { R32F = 0, R16F = 2, R16BF = 14, R64F = 1, R8I = 3, C32F = 4 };
enum { C16F = 64, C32 = 68, C32P = 69, C32_16F = 74, C32_16BF = 75, C32_TF32 = 77, C64 = 70 };
enum { BLAS_NOT_SUPPORTED = 15, BLAS_INVALID = 7 };
static void *bh;
static int T;
static float wid(int t, uint16_t b) {
	if (t == R16BF) { uint32_t u = (uint32_t)b << 16; float f; memcpy(&f, &u, 4); return f; }
	_Float16 h; memcpy(&h, &b, 2); return (float)h;
}
static uint16_t nar(int t, float f) {
	if (t == R16BF) { uint32_t u; memcpy(&u, &f, 4); u += 0x7fff + ((u >> 16) & 1); return u >> 16; }
	_Float16 h = (_Float16)f; uint16_t b; memcpy(&b, &h, 2); return b;
}
static long compared;
static void trial(int tr, int t, int ct) {
	int m = 1 + urand() * 9, n = 1 + urand() * 9, k = 1 + urand() * 17, ta = urand() < 0.5, tb = urand() < 0.5;
	int lda = (ta ? k : m) + (int)(urand() * 3), ldb = (tb ? n : k) + (int)(urand() * 3), ldc = m + (int)(urand() * 3);
	size_t la = (size_t)lda * (ta ? m : k), lb = (size_t)ldb * (tb ? k : n), lc = (size_t)ldc * n;
	uint16_t *a = malloc(la * 2 + 4), *b = malloc(lb * 2 + 4), *c = malloc(lc * 2 + 4);
	float *af = malloc(la * 4), *bf = malloc(lb * 4), *cf = malloc(lc * 4);
	for (size_t i = 0; i < la; i++) a[i] = nar(t, (float)(urand() * 4 - 2)), af[i] = wid(t, a[i]);
	for (size_t i = 0; i < lb; i++) b[i] = nar(t, (float)(urand() * 4 - 2)), bf[i] = wid(t, b[i]);
	for (size_t i = 0; i < lc; i++) c[i] = nar(t, (float)(urand() * 4 - 2)), cf[i] = wid(t, c[i]);
	float alpha = (float)(urand() * 2 - 1), beta = tr % 3 == 0 ? 0 : (float)(urand() * 2 - 1);
	void *A = upload((float *)a, (la + 1) / 2), *B = upload((float *)b, (lb + 1) / 2);
	void *C = ct == R32F ? upload(cf, lc) : upload((float *)c, (lc + 1) / 2);
	void *Af = upload(af, la), *Bf = upload(bf, lb), *Cf = upload(cf, lc);
	CK(cublasGemmEx(bh, ta, tb, m, n, k, &alpha, A, t, lda, B, t, ldb, &beta, C, ct, ldc, tr % 2 ? C32 : C32P, tr % 4 == 1 ? 99 : -1));
	CK(cublasSgemm_v2(bh, ta, tb, m, n, k, &alpha, Af, lda, Bf, ldb, &beta, Cf, ldc));
	float *want = download(Cf, lc);
	if (ct == R32F) {
		float *got = download(C, lc);
		for (size_t i = 0; i < lc; i++, compared++)
			if (memcmp(&got[i], &want[i], 4) != 0) FAIL("trial %d C[%zu] = %.9g, Sgemm %.9g", tr, i, got[i], want[i]);
	} else {
		uint16_t *got = (uint16_t *)download(C, (lc + 1) / 2);
		for (size_t i = 0; i < lc; i++, compared++)
			if (got[i] != nar(t, want[i])) FAIL("trial %d C[%zu] = %04x, Sgemm %.9g rounds to %04x", tr, i, got[i], want[i], nar(t, want[i]));
	}
}
int main(void) {
	setup();
	CK(cublasCreate_v2(&bh));
	for (int tr = 0; tr < 40; tr++) {
		trial(tr, R16F, R16F); trial(tr, R16F, R32F); trial(tr, R16BF, R16BF); trial(tr, R16BF, R32F);
	}
	/* Ties and overflow on store: 1x1x1 products a·b = 65520 (float16 overflow: inf) and a value halfway between
	   two bfloat16s (to even). */
	{
		float one = 1, zero = 0;
		uint16_t a16[2] = {nar(R16F, 65504.0f), 0}, b16[2] = {nar(R16F, 1.0f), 0};
		float x = 65520.0f; void *A = upload((float *)a16, 1), *B = upload((float *)b16, 1), *C = dev(1);
		CK(cublasGemmEx(bh, 0, 0, 1, 1, 1, &x, B, R16F, 1, B, R16F, 1, &zero, C, R16F, 1, C32, -1));
		uint16_t *r = (uint16_t *)download(C, 1);
		if (r[0] != 0x7c00) FAIL("65520 stored as float16 %04x, want inf 7c00", r[0]);
		float tie = 1.0f + 1.0f / 256; /* halfway between bfloat16 1 and 1+2^-7: to even, 1 */
		uint16_t b1[2] = {nar(R16BF, 1.0f), 0}; void *B1 = upload((float *)b1, 1);
		CK(cublasGemmEx(bh, 0, 0, 1, 1, 1, &tie, B1, R16BF, 1, B1, R16BF, 1, &zero, C, R16BF, 1, C32, -1));
		r = (uint16_t *)download(C, 1);
		if (r[0] != 0x3f80) FAIL("1+2^-8 stored as bfloat16 %04x, want 3f80", r[0]);
		(void)A; (void)one;
	}
	/* TF32: 1 + 2^-12 is below TF32's precision. Math mode TF32 with COMPUTE_32F rounds, PEDANTIC and FAST_16BF differ. */
	{
		float x = 1.0f + 1.0f / 4096, one = 1, zero = 0, *r;
		void *X = upload(&x, 1), *O = upload(&one, 1), *C = dev(1);
		CK(cublasSetMathMode(bh, 3));
		CK(cublasGemmEx(bh, 0, 0, 1, 1, 1, &one, X, R32F, 1, O, R32F, 1, &zero, C, R32F, 1, C32, -1));
		r = download(C, 1); if (r[0] != 1.0f) FAIL("TF32 math, COMPUTE_32F: %.9g, want 1", r[0]);
		CK(cublasGemmEx(bh, 0, 0, 1, 1, 1, &one, X, R32F, 1, O, R32F, 1, &zero, C, R32F, 1, C32P, -1));
		r = download(C, 1); if (r[0] != x) FAIL("TF32 math, COMPUTE_32F_PEDANTIC: %.9g, want %.9g", r[0], x);
		CK(cublasSetMathMode(bh, 0));
		CK(cublasGemmEx(bh, 0, 0, 1, 1, 1, &one, X, R32F, 1, O, R32F, 1, &zero, C, R32F, 1, C32, -1));
		r = download(C, 1); if (r[0] != x) FAIL("default math, COMPUTE_32F: %.9g, want %.9g", r[0], x);
		CK(cublasGemmEx(bh, 0, 0, 1, 1, 1, &one, X, R32F, 1, O, R32F, 1, &zero, C, R32F, 1, C32_TF32, -1));
		r = download(C, 1); if (r[0] != 1.0f) FAIL("COMPUTE_32F_FAST_TF32: %.9g, want 1", r[0]);
		float y = 1.0f + 1.0f / 128 + 1.0f / 1024; /* bfloat16 rounds it to 1 + 2^-7 */
		put(X, &y, 1);
		CK(cublasGemmEx(bh, 0, 0, 1, 1, 1, &one, X, R32F, 1, O, R32F, 1, &zero, C, R32F, 1, C32_16BF, -1));
		r = download(C, 1); if (r[0] != 1.0f + 1.0f / 128) FAIL("COMPUTE_32F_FAST_16BF: %.9g, want %.9g", r[0], 1.0f + 1.0f / 128);
	}
	/* What is refused. */
	{
		float one = 1; void *P = dev(64);
		struct { int a, b, c, ct, algo, want; } r[] = {
			{R16F, R16F, R16F, C16F, -1, BLAS_NOT_SUPPORTED},   /* listed, half compute: not simulated */
			{R16F, R16BF, R32F, C32, -1, BLAS_NOT_SUPPORTED},   /* mixed inputs */
			{R16F, R16F, R16BF, C32, -1, BLAS_NOT_SUPPORTED},
			{R16BF, R16BF, R16F, C32, -1, BLAS_NOT_SUPPORTED},
			{R32F, R32F, R16F, C32, -1, BLAS_NOT_SUPPORTED},
			{R16F, R16F, R32F, C32_TF32, -1, BLAS_NOT_SUPPORTED}, /* FAST types: 32F data only */
			{R16BF, R16BF, R16BF, C32_16BF, -1, BLAS_NOT_SUPPORTED},
			{R64F, R64F, R64F, C64, -1, BLAS_NOT_SUPPORTED},
			{R8I, R8I, R32F, C32, -1, BLAS_NOT_SUPPORTED},
			{R16F, R16F, R16F, 12345, -1, BLAS_NOT_SUPPORTED},
			{R16F, R16F, R16F, C32, 24, BLAS_NOT_SUPPORTED},   /* algo between ALGO23 and DEFAULT_TENSOR_OP */
			{R16F, R16F, R16F, C32, 116, BLAS_NOT_SUPPORTED},
			{R16F, R16F, R16F, C32, -2, BLAS_NOT_SUPPORTED},
			{R16F, R16F, R16F, C32, 115, 0},
			{R16BF, R16BF, R32F, C32P, 23, 0},
		};
		for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
			int s = cublasGemmEx(bh, 0, 0, 2, 2, 2, &one, P, r[i].a, 2, P, r[i].b, 2, &one, (char *)P + 64, r[i].c, 2, r[i].ct, r[i].algo);
			if (s != r[i].want) FAIL("case %zu (A %d B %d C %d compute %d algo %d): status %d, want %d", i, r[i].a, r[i].b, r[i].c, r[i].ct, r[i].algo, s, r[i].want);
		}
		WANT(cublasGemmEx(bh, 0, 0, 2, 2, 2, &one, P, R16F, 1, P, R16F, 2, &one, (char *)P + 64, R16F, 2, C32, -1), BLAS_INVALID);
		WANT(cublasGemmEx(bh, 0, 0, 2, 2, 2, NULL, P, R16F, 2, P, R16F, 2, &one, (char *)P + 64, R16F, 2, C32, -1), BLAS_INVALID);
		WANT(cublasGemmEx(bh, 3, 0, 2, 2, 2, &one, P, R16F, 2, P, R16F, 2, &one, (char *)P + 64, R16F, 2, C32, -1), BLAS_INVALID);
	}
	sync0();
	printf("%ld GemmEx results equal to cublasSgemm_v2's on the widened inputs (rounded once for half C)\n", compared);
	return 0;
}
`
