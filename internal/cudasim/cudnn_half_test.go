package cudasim

import (
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/deepres/deepres/ops"
)

// TestCUDNNHalf proves the simulated cuDNN's half precision: HALF and
// BFLOAT16 data in convolutions (PSEUDO_HALF_CONFIG, PSEUDO_BFLOAT16_CONFIG),
// batch norm and activations give, bit for bit, the float computation on the
// same (widened) data rounded once to the storage type; stores round exactly
// as deepres's CPU reference (ops.Round); the type configurations cuDNN does
// not support are refused.
func TestCUDNNHalf(t *testing.T) {
	needBuild(t) // the package's simulator (TestMain), built once
	lib := simDir
	t.Run("RoundingMatchesOps", func(t *testing.T) { dnnHalfRounding(t, lib) })
	exe := dnnProgram(t, lib, "halfpath", dnnHalfPathSrc)
	for _, c := range []struct{ name, dtype, layout string }{
		{"HalfNCHW", "2", "0"}, {"BFloat16NCHW", "9", "0"}, {"HalfNHWC", "2", "1"}, {"BFloat16NHWC", "9", "1"},
		{"FloatNHWC", "0", "1"},
	} {
		t.Run(c.name+"MatchesFloat", func(t *testing.T) {
			out := dnnMustRun(t, exe, "HALF_DTYPE="+c.dtype, "HALF_LAYOUT="+c.layout)
			t.Log(strings.TrimSpace(out))
		})
	}
	t.Run("TypeRules", func(t *testing.T) { dnnMustRun(t, dnnProgram(t, lib, "halfrules", dnnHalfRulesSrc)) })
	t.Run("LayoutRules", func(t *testing.T) { dnnMustRun(t, dnnProgram(t, lib, "layoutrules", dnnLayoutRulesSrc)) })
}

// The rounding of every store, through the public API: y = alpha·relu(x)
// with x = 1 and beta = 0 is alpha rounded to y's type. Values: ties in
// both types (to even, both directions), just off ties, float16's largest
// finite, its overflow threshold 65520 and beyond, subnormals and their
// ties, the underflow to zero, NaN with payloads and signs, infinities,
// signed zeros, and random bit patterns.
const dnnHalfRoundingSrc = `
int main(int argc, char **argv) {
	setup();
	int dt = atoi(argv[1]);
	TD d; CK(cudnnCreateTensorDescriptor(&d)); CK(cudnnSetTensor4dDescriptor(d, NCHW, dt, 1, 1, 1, 1));
	AD ad; CK(cudnnCreateActivationDescriptor(&ad)); CK(cudnnSetActivationDescriptor(ad, RELU, PROP, 0));
	uint16_t one = dt == 2 ? 0x3c00 : 0x3f80;
	void *X = dev(1), *Y = dev(1);
	/* x = 1 in the low two bytes (little-endian), written as a float's bits. */
	float xf; uint32_t xb = one; memcpy(&xf, &xb, 4); put(X, &xf, 1);
	float zero = 0;
	for (int i = 2; i < argc; i++) {
		uint32_t b = (uint32_t)strtoul(argv[i], NULL, 16);
		float a; memcpy(&a, &b, 4);
		CK(cudnnActivationForward(h, ad, &a, d, X, &zero, d, Y));
		float *y = download(Y, 1);
		uint32_t yb; memcpy(&yb, y, 4);
		printf("%08x %04x\n", b, yb & 0xffff);
		free(y);
	}
	return 0;
}
`

func dnnHalfRounding(t *testing.T, lib string) {
	exe := dnnProgram(t, lib, "halfround", dnnHalfRoundingSrc)
	var vals []uint32
	f := math.Float32bits
	for _, v := range []float32{0, 1, 65504, 65519.996, 65520, 65536, 1e9, 3.0e-8, 2.98e-8, 5.960464477539063e-08, 2.9802322387695312e-08,
		8.940697e-08, 6.103515625e-05, 6.0975552e-05, 1 + 1.0/2048, 1 + 3.0/2048, 1 + 1.0/256, 1 + 3.0/256, 1 + 1.0/4096,
		3.3895314e38, 3.4028235e38, float32(math.Inf(1)), 0.1, 1.0 / 3} {
		vals = append(vals, f(v), f(v)|0x80000000)
	}
	// Just above and below ties of each type, and NaNs (quiet, signalling,
	// payloads, both signs).
	for _, b := range []uint32{0x3f801000, 0x3f800fff, 0x3f801001, 0x3f808000, 0x3f807fff, 0x3f818000, 0x3f808001,
		0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa12345, 0xff812345, 0x7fffffff} {
		vals = append(vals, b)
	}
	rng := uint64(0x9e3779b97f4a7c15)
	for range 300 {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		vals = append(vals, uint32(rng>>32))
	}
	for _, dt := range []struct {
		name string
		code string
		want func(float32) uint16
	}{{"float16", "2", ops.F16Bits}, {"bfloat16", "9", ops.BF16Bits}} {
		args := []string{dt.code}
		for _, v := range vals {
			args = append(args, fmt.Sprintf("%08x", v))
		}
		cmd := exec.Command(exe, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", dt.name, err, stderr.String())
		}
		out := string(b)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(vals) {
			t.Fatalf("%s: %d lines for %d values", dt.name, len(lines), len(vals))
		}
		bad := 0
		for _, l := range lines {
			fields := strings.Fields(l)
			in64, _ := strconv.ParseUint(fields[0], 16, 32)
			got, _ := strconv.ParseUint(fields[1], 16, 16)
			in := uint32(in64)
			if w := dt.want(math.Float32frombits(in)); uint16(got) != w {
				bad++
				if bad < 10 {
					t.Errorf("%s: storing %08x (%g) gave %04x, ops gives %04x", dt.name, in, math.Float32frombits(in), got, w)
				}
			}
		}
		t.Logf("%s: %d values stored as ops.Round stores them", dt.name, len(vals)-bad)
	}
}

// The helpers of the programs that compare a computation on data of type DT
// (HALF, BFLOAT16 or FLOAT) in layout LAY (0 NCHW, 1 NHWC for tensors and
// KRSC for filters) with the float NCHW computation on the same values.
const dnnHalfHelpersSrc = `
static int DT, LAY, ES; /* data type, layout, element size */
typedef uint32_t el; /* an element's bits: a float's, or a half's in the low 16 */
static float widen(el b) {
	float f;
	if (DT == 0) { memcpy(&f, &b, 4); return f; }
	if (DT == 9) { uint32_t u = b << 16; memcpy(&f, &u, 4); return f; }
	uint16_t b16 = (uint16_t)b; _Float16 h; memcpy(&h, &b16, 2); return (float)h;
}
static el narrow(float f) { /* round to nearest even; the data here has no NaN */
	uint32_t u; memcpy(&u, &f, 4);
	if (DT == 0) return u;
	if (DT == 9) { u += 0x7fff + ((u >> 16) & 1); return u >> 16; }
	_Float16 h = (_Float16)f; uint16_t b; memcpy(&b, &h, 2); return b;
}
/* Random values of the storage type in [-2, 2], some tiny. */
static el rand16(void) { float v = (float)(urand() * 4 - 2); if (urand() < 0.05) v *= 1e-4f; return narrow(v); }

/* Logical NCHW index → storage index of the tested side (NHWC if LAY). */
static size_t sidx(int n, int c, int hh, int w, int C, int H, int W) {
	return LAY ? (((size_t)n * H + hh) * W + w) * C + c : (((size_t)n * C + c) * H + hh) * W + w;
}
typedef struct { int n, c, h, w; } sh;
static size_t len4(sh s) { return (size_t)s.n * s.c * s.h * s.w; }
static size_t floats(size_t n) { return (n * ES + 3) / 4; }
/* An array (logical NCHW order in v) uploaded in the tested side's type and layout. */
static void *up16(const el *v, sh s) {
	size_t n = len4(s), i = 0;
	unsigned char *b = calloc(floats(n), 4);
	for (int a = 0; a < s.n; a++) for (int c = 0; c < s.c; c++) for (int hh = 0; hh < s.h; hh++) for (int w = 0; w < s.w; w++)
		memcpy(b + sidx(a, c, hh, w, s.c, s.h, s.w) * ES, &v[i++], ES);
	void *d = dev(floats(n)); put(d, (float *)b, floats(n)); free(b); return d;
}
static el *down16(const void *d, sh s) {
	size_t n = len4(s), i = 0;
	unsigned char *b = (unsigned char *)download(d, floats(n));
	el *o = calloc(n, sizeof *o);
	for (int a = 0; a < s.n; a++) for (int c = 0; c < s.c; c++) for (int hh = 0; hh < s.h; hh++) for (int w = 0; w < s.w; w++)
		memcpy(&o[i++], b + sidx(a, c, hh, w, s.c, s.h, s.w) * ES, ES);
	free(b); return o;
}
static el *rand16v(size_t n) { el *v = malloc(n * sizeof *v); for (size_t i = 0; i < n; i++) v[i] = rand16(); return v; }
static float *widev(const el *v, size_t n) { float *f = malloc(n * 4); for (size_t i = 0; i < n; i++) f[i] = widen(v[i]); return f; }
static TD tdesc16(sh s) { TD d; CK(cudnnCreateTensorDescriptor(&d)); CK(cudnnSetTensor4dDescriptor(d, LAY, DT, s.n, s.c, s.h, s.w)); return d; }
static FD fdesc16(sh s) { FD d; CK(cudnnCreateFilterDescriptor(&d)); CK(cudnnSetFilter4dDescriptor(d, DT, LAY, s.n, s.c, s.h, s.w)); return d; }
static long compared;
/* got (tested side, logical NCHW) must equal want (float NCHW side) rounded, bit for bit. */
static void same(const char *what, int trial, const el *got, const float *want, size_t n) {
	for (size_t i = 0; i < n; i++) {
		if (got[i] != narrow(want[i]))
			FAIL("trial %d %s[%zu]: tested path %04x (%g), float path %.9g rounds to %04x", trial, what, i, got[i], widen(got[i]),
				want[i], narrow(want[i]));
		compared++;
	}
}
static void samef(const char *what, int trial, const float *got, const float *want, size_t n) {
	for (size_t i = 0; i < n; i++) {
		if (memcmp(&got[i], &want[i], 4) != 0)
			FAIL("trial %d %s[%zu]: tested path %.9g, float path %.9g", trial, what, i, got[i], want[i]);
		compared++;
	}
}
`

// Each operation twice: on data of type HALF_DTYPE (HALF, BFLOAT16 or
// FLOAT) in layout HALF_LAYOUT (0 NCHW, 1 NHWC for tensors and KRSC for
// filters), and on the same values widened to float, NCHW. The tested
// results must be the float NCHW ones rounded once (bit for bit; FLOAT
// NHWC: equal): every operation computes on float NCHW, then blends and
// rounds on store.
const dnnHalfPathSrc = dnnHalfHelpersSrc + `
static void convs(int trial) {
	int N = 1 + urand() * 3, C = 1 + urand() * 5, K = 1 + urand() * 5, R = 1 + urand() * 3, S = 1 + urand() * 3;
	int ph = urand() * 2, pw = urand() * 2, u = 1 + urand() * 2, v = 1 + urand() * 2;
	int H = R + (int)(urand() * 6), W = S + (int)(urand() * 6);
	int Ho = 1 + (H + 2 * ph - R) / u, Wo = 1 + (W + 2 * pw - S) / v;
	sh xs = {N, C, H, W}, ws = {K, C, R, S}, ys = {N, K, Ho, Wo};
	size_t lx = len4(xs), lw = len4(ws), ly = len4(ys);
	el *x = rand16v(lx), *w = rand16v(lw), *y0 = rand16v(ly), *dy = rand16v(ly), *dx0 = rand16v(lx), *dw0 = rand16v(lw);
	float alpha = (float)(urand() * 2 - 1), beta = trial % 3 == 0 ? 0 : (float)(urand() * 2 - 1);
	int mode = trial % 2 ? CROSS : CONVOLUTION;
	CD cd = conv(ph, pw, u, v, 1, 1, mode, FMA);
	/* half side */
	TD xd = tdesc16(xs), yd = tdesc16(ys); FD wd = fdesc16(ws);
	void *X = up16(x, xs), *Wt = up16(w, ws), *Y = up16(y0, ys), *DY = up16(dy, ys), *DX = up16(dx0, xs), *DW = up16(dw0, ws);
	int algo = trial % 2; /* IMPLICIT_GEMM, IMPLICIT_PRECOMP_GEMM (workspace) / ALGO_0, ALGO_1 */
	size_t wsz = 1 << 20; void *WS = dev(wsz / 4);
	CK(cudnnConvolutionForward(h, &alpha, xd, X, wd, Wt, cd, algo, WS, wsz, &beta, yd, Y));
	CK(cudnnConvolutionBackwardData(h, &alpha, wd, Wt, yd, DY, cd, algo, WS, wsz, &beta, xd, DX));
	CK(cudnnConvolutionBackwardFilter(h, &alpha, xd, X, yd, DY, cd, algo, WS, wsz, &beta, wd, DW));
	el *gy = down16(Y, ys), *gdx = down16(DX, xs), *gdw = down16(DW, ws);
	/* float side */
	TD xf = tensor(N, C, H, W), yf = tensor(N, K, Ho, Wo); FD wf = filter(K, C, R, S);
	void *Xf = upload(widev(x, lx), lx), *Wf = upload(widev(w, lw), lw), *Yf = upload(widev(y0, ly), ly);
	void *DYf = upload(widev(dy, ly), ly), *DXf = upload(widev(dx0, lx), lx), *DWf = upload(widev(dw0, lw), lw);
	CK(cudnnConvolutionForward(h, &alpha, xf, Xf, wf, Wf, cd, algo, WS, wsz, &beta, yf, Yf));
	CK(cudnnConvolutionBackwardData(h, &alpha, wf, Wf, yf, DYf, cd, algo, WS, wsz, &beta, xf, DXf));
	CK(cudnnConvolutionBackwardFilter(h, &alpha, xf, Xf, yf, DYf, cd, algo, WS, wsz, &beta, wf, DWf));
	same("conv y", trial, gy, download(Yf, ly), ly);
	same("conv dx", trial, gdx, download(DXf, lx), lx);
	same("conv dw", trial, gdw, download(DWf, lw), lw);
}

static void batchnorms(int trial) {
	int mode = trial % 2 ? SPATIAL : PER_ACT;
	sh xs = {2 + (int)(urand() * 3), 1 + (int)(urand() * 4), 1 + (int)(urand() * 4), 1 + (int)(urand() * 4)};
	sh ps = {1, xs.c, mode == SPATIAL ? 1 : xs.h, mode == SPATIAL ? 1 : xs.w};
	size_t lx = len4(xs), lp = len4(ps);
	el *x = rand16v(lx), *y0 = rand16v(lx), *dy = rand16v(lx), *dx0 = rand16v(lx);
	float *g = randv(lp), *b = randv(lp), *rm = randv(lp), *rv = randv(lp);
	for (size_t i = 0; i < lp; i++) rv[i] = fabsf(rv[i]) + 0.5f;
	float alpha = (float)(urand() + 0.5), beta = trial % 3 == 0 ? 0 : (float)(urand() - 0.5), one = 1, zero = 0;
	double eps = 1e-5, factor = 0.1;
	TD pd; CK(cudnnCreateTensorDescriptor(&pd)); CK(cudnnSetTensor4dDescriptor(pd, NCHW, FLOAT, ps.n, ps.c, ps.h, ps.w));
	/* half side */
	TD xd = tdesc16(xs);
	void *X = up16(x, xs), *Y = up16(y0, xs), *YI = up16(y0, xs), *DY = up16(dy, xs), *DX = up16(dx0, xs);
	void *G = upload(g, lp), *B = upload(b, lp), *RM = upload(rm, lp), *RV = upload(rv, lp), *SM = dev(lp), *SI = dev(lp);
	void *DG = upload(g, lp), *DB = upload(b, lp);
	CK(cudnnBatchNormalizationForwardTraining(h, mode, &alpha, &beta, xd, X, xd, Y, pd, G, B, factor, RM, RV, eps, SM, SI));
	CK(cudnnBatchNormalizationForwardInference(h, mode, &alpha, &beta, xd, X, xd, YI, pd, G, B, RM, RV, eps));
	CK(cudnnBatchNormalizationBackward(h, mode, &alpha, &beta, &one, &zero, xd, X, xd, DY, xd, DX, pd, G, DG, DB, eps, SM, SI));
	/* float side */
	TD xf = tensor(xs.n, xs.c, xs.h, xs.w);
	void *Xf = upload(widev(x, lx), lx), *Yf = upload(widev(y0, lx), lx), *YIf = upload(widev(y0, lx), lx);
	void *DYf = upload(widev(dy, lx), lx), *DXf = upload(widev(dx0, lx), lx);
	void *Gf = upload(g, lp), *Bf = upload(b, lp), *RMf = upload(rm, lp), *RVf = upload(rv, lp), *SMf = dev(lp), *SIf = dev(lp);
	void *DGf = upload(g, lp), *DBf = upload(b, lp);
	CK(cudnnBatchNormalizationForwardTraining(h, mode, &alpha, &beta, xf, Xf, xf, Yf, pd, Gf, Bf, factor, RMf, RVf, eps, SMf, SIf));
	CK(cudnnBatchNormalizationForwardInference(h, mode, &alpha, &beta, xf, Xf, xf, YIf, pd, Gf, Bf, RMf, RVf, eps));
	CK(cudnnBatchNormalizationBackward(h, mode, &alpha, &beta, &one, &zero, xf, Xf, xf, DYf, xf, DXf, pd, Gf, DGf, DBf, eps, SMf, SIf));
	same("bn y", trial, down16(Y, xs), download(Yf, lx), lx);
	same("bn inference y", trial, down16(YI, xs), download(YIf, lx), lx);
	same("bn dx", trial, down16(DX, xs), download(DXf, lx), lx);
	samef("bn running mean", trial, download(RM, lp), download(RMf, lp), lp);
	samef("bn running var", trial, download(RV, lp), download(RVf, lp), lp);
	samef("bn saved mean", trial, download(SM, lp), download(SMf, lp), lp);
	samef("bn saved inv", trial, download(SI, lp), download(SIf, lp), lp);
	samef("bn dscale", trial, download(DG, lp), download(DGf, lp), lp);
	samef("bn dbias", trial, download(DB, lp), download(DBf, lp), lp);
}

static void activations(int trial) {
	sh xs = {1 + (int)(urand() * 3), 1 + (int)(urand() * 4), 1 + (int)(urand() * 4), 1 + (int)(urand() * 4)};
	size_t n = len4(xs);
	el *x = rand16v(n), *y0 = rand16v(n), *dx0 = rand16v(n), *dy = rand16v(n);
	float alpha = (float)(urand() + 0.5), beta = trial % 3 == 0 ? 0 : (float)(urand() - 0.5), one = 1, zero = 0;
	AD ad; CK(cudnnCreateActivationDescriptor(&ad)); CK(cudnnSetActivationDescriptor(ad, trial % 2 ? RELU : SIGMOID, PROP, 0));
	TD xd = tdesc16(xs), xf = tensor(xs.n, xs.c, xs.h, xs.w);
	void *X = up16(x, xs), *Y = up16(y0, xs), *Y1 = dev(n), *DY = up16(dy, xs), *DX = up16(dx0, xs);
	void *Xf = upload(widev(x, n), n), *Yf = upload(widev(y0, n), n), *DYf = upload(widev(dy, n), n), *DXf = upload(widev(dx0, n), n);
	CK(cudnnActivationForward(h, ad, &alpha, xd, X, &beta, xd, Y));
	CK(cudnnActivationForward(h, ad, &alpha, xf, Xf, &beta, xf, Yf));
	same("act y", trial, down16(Y, xs), download(Yf, n), n);
	/* backward from the forward pair (alpha 1, beta 0), dx blended */
	CK(cudnnActivationForward(h, ad, &one, xd, X, &zero, xd, Y1));
	el *y1 = down16(Y1, xs);
	void *Y1w = upload(widev(y1, n), n);
	CK(cudnnActivationBackward(h, ad, &alpha, xd, Y1, xd, DY, xd, X, &beta, xd, DX));
	sync0(); /* the strict check accepted a y rounded to the storage type */
	/* The float path takes the same (rounded) y only where that is f(x) in
	 * float too: ReLU of a half x is exact; a float sigmoid's y must not be
	 * rounded to half (its strict check says so). */
	if (trial % 2 == 0)
		return;
	CK(cudnnActivationBackward(h, ad, &alpha, xf, Y1w, xf, DYf, xf, Xf, &beta, xf, DXf));
	same("act dx", trial, down16(DX, xs), download(DXf, n), n);
}

int main(void) {
	setup();
	DT = atoi(getenv("HALF_DTYPE")), LAY = atoi(getenv("HALF_LAYOUT")), ES = DT == 0 ? 4 : 2;
	for (int trial = 0; trial < 12; trial++) {
		convs(trial);
		batchnorms(trial);
		activations(trial);
	}
	printf("dtype %d layout %d: %ld results equal to the float path's, rounded\n", DT, LAY, compared);
	return 0;
}
`

// What cuDNN refuses in half precision, and Find's half entries.
const dnnHalfRulesSrc = `
enum { HALF = 2, BF16 = 9, NHWC = 1 };
static TD td(int fmt, int dt, int n, int c, int hh, int w) { TD d; CK(cudnnCreateTensorDescriptor(&d)); CK(cudnnSetTensor4dDescriptor(d, fmt, dt, n, c, hh, w)); return d; }
static FD fd(int fmt, int dt, int k, int c, int r, int s) { FD d; CK(cudnnCreateFilterDescriptor(&d)); CK(cudnnSetFilter4dDescriptor(d, dt, fmt, k, c, r, s)); return d; }
static CD cdesc(int ct) { CD d; CK(cudnnCreateConvolutionDescriptor(&d)); CK(cudnnSetConvolution2dDescriptor(d, 1, 1, 1, 1, 1, 1, CROSS, ct)); return d; }
int main(void) {
	setup();
	float one = 1, zero = 0;
	void *A = dev(4096), *B = dev(4096), *C = dev(4096), *P = dev(64), *Q = dev(64), *WS = dev(1 << 20);
	TD xh = td(NCHW, HALF, 2, 3, 8, 8), yh = td(NCHW, HALF, 2, 4, 8, 8), xb = td(NCHW, BF16, 2, 3, 8, 8), yb = td(NCHW, BF16, 2, 4, 8, 8);
	TD xf = td(NCHW, FLOAT, 2, 3, 8, 8);
	FD wh = fd(NCHW, HALF, 4, 3, 3, 3), wb = fd(NCHW, BF16, 4, 3, 3, 3), wf = fd(NCHW, FLOAT, 4, 3, 3, 3);
	CD cfl = cdesc(FLOAT), chalf = cdesc(HALF);
	/* the configurations: PSEUDO_HALF and PSEUDO_BFLOAT16 run, TRUE_HALF is not simulated, bf16 data with HALF compute is none */
	WANT(cudnnConvolutionForward(h, &one, xh, A, wh, B, cfl, 0, NULL, 0, &zero, yh, C), OK);
	WANT(cudnnConvolutionForward(h, &one, xb, A, wb, B, cfl, 0, NULL, 0, &zero, yb, C), OK);
	WANT(cudnnConvolutionForward(h, &one, xh, A, wh, B, chalf, 0, NULL, 0, &zero, yh, C), NOT_SUPPORTED);
	WANT(cudnnConvolutionForward(h, &one, xb, A, wb, B, chalf, 0, NULL, 0, &zero, yb, C), NOT_SUPPORTED);
	WANT(cudnnConvolutionForward(h, &one, xf, A, wf, B, chalf, 0, NULL, 0, &zero, td(NCHW, FLOAT, 2, 4, 8, 8), C), NOT_SUPPORTED);
	/* mismatched data types are BAD_PARAM */
	WANT(cudnnConvolutionForward(h, &one, xh, A, wf, B, cfl, 0, NULL, 0, &zero, yh, C), BAD_PARAM);
	WANT(cudnnConvolutionForward(h, &one, xh, A, wh, B, cfl, 0, NULL, 0, &zero, yb, C), BAD_PARAM);
	WANT(cudnnConvolutionBackwardData(h, &one, wb, B, yh, A, cfl, 0, NULL, 0, &zero, xh, C), BAD_PARAM);
	WANT(cudnnConvolutionBackwardFilter(h, &one, xh, A, yh, B, cfl, 0, NULL, 0, &zero, wb, C), BAD_PARAM);
	/* Find: every forward algorithm of FLOAT compute over half data runs but DIRECT; bfloat16 has no FFT or Winograd */
	Perf pf[8]; int got;
	TD x33 = td(NCHW, BF16, 2, 3, 8, 8), y33 = td(NCHW, BF16, 2, 4, 8, 8);
	CK(cudnnFindConvolutionForwardAlgorithmEx(h, x33, A, wb, B, cfl, y33, C, 8, &got, pf, WS, 1 << 20));
	for (int i = 0; i < got; i++) {
		int transform = pf[i].algo >= 4;
		if (transform != (pf[i].status == NOT_SUPPORTED) && pf[i].algo != 3)
			FAIL("bf16 Find: algo %d status %d", pf[i].algo, pf[i].status);
	}
	CK(cudnnFindConvolutionForwardAlgorithmEx(h, xh, A, wh, B, cfl, yh, C, 8, &got, pf, WS, 1 << 20));
	for (int i = 0; i < got; i++)
		if ((pf[i].status == 0) != (pf[i].algo != 3))
			FAIL("half Find: algo %d status %d", pf[i].algo, pf[i].status);
	WANT(cudnnConvolutionForward(h, &one, xb, A, wb, B, cfl, 4, WS, 1 << 20, &zero, yb, C), NOT_SUPPORTED);
	/* batch norm: x and y one type; parameters FLOAT */
	TD ph = td(NCHW, HALF, 1, 3, 1, 1), pf32 = td(NCHW, FLOAT, 1, 3, 1, 1), xh3 = td(NCHW, HALF, 2, 3, 8, 8), xb3 = td(NCHW, BF16, 2, 3, 8, 8);
	WANT(cudnnBatchNormalizationForwardInference(h, SPATIAL, &one, &zero, xh3, A, xh3, C, pf32, P, P, P, Q, 1e-5), OK);
	WANT(cudnnBatchNormalizationForwardInference(h, SPATIAL, &one, &zero, xh3, A, xh3, C, ph, P, P, P, Q, 1e-5), NOT_SUPPORTED);
	WANT(cudnnBatchNormalizationForwardTraining(h, SPATIAL, &one, &zero, xh3, A, xb3, C, pf32, P, P, 0.1, NULL, NULL, 1e-5, NULL, NULL), BAD_PARAM);
	WANT(cudnnBatchNormalizationForwardTraining(h, SPATIAL, &one, &zero, xf, A, xf, C, ph, P, P, 0.1, NULL, NULL, 1e-5, NULL, NULL), NOT_SUPPORTED);
	/* activations: one data type */
	AD ad; CK(cudnnCreateActivationDescriptor(&ad)); CK(cudnnSetActivationDescriptor(ad, RELU, PROP, 0));
	WANT(cudnnActivationForward(h, ad, &one, xh3, A, &zero, xb3, C), BAD_PARAM);
	WANT(cudnnActivationForward(h, ad, &one, xh3, A, &zero, xf, C), BAD_PARAM);
	WANT(cudnnActivationForward(h, ad, &one, xb3, A, &zero, xb3, C), OK);
	sync0();
	/* float16 overflow in a convolution: 300·300 = 90000 is past 65504 (inf); in bfloat16 it is 89600 + ...,
	   finite. A NaN in half x: ReLU propagates it under CUDNN_PROPAGATE_NAN (a float16 NaN), gives 0 otherwise. */
	{
		TD t1 = td(NCHW, HALF, 1, 1, 1, 2), b1 = td(NCHW, BF16, 1, 1, 1, 2);
		FD f1 = fd(NCHW, HALF, 1, 1, 1, 1), g1 = fd(NCHW, BF16, 1, 1, 1, 1);
		CD c0; CK(cudnnCreateConvolutionDescriptor(&c0)); CK(cudnnSetConvolution2dDescriptor(c0, 0, 0, 1, 1, 1, 1, CROSS, FLOAT));
		uint16_t xs[2] = {0x5cb0, 0x7e00}, ws[2] = {0x5cb0, 0}; /* float16 300, NaN; 300 */
		put(A, (float *)xs, 1); put(B, (float *)ws, 1);
		CK(cudnnConvolutionForward(h, &one, t1, A, f1, B, c0, 0, NULL, 0, &zero, t1, C));
		uint16_t *r = (uint16_t *)download(C, 1);
		if (r[0] != 0x7c00 || (r[1] & 0x7c00) != 0x7c00 || (r[1] & 0x3ff) == 0) FAIL("float16 300*300 = %04x (want inf 7c00), NaN*300 = %04x", r[0], r[1]);
		uint16_t xb[2] = {0x4396, 0x7fc0}, wb[2] = {0x4396, 0}; /* bfloat16 300, NaN */
		put(A, (float *)xb, 1); put(B, (float *)wb, 1);
		CK(cudnnConvolutionForward(h, &one, b1, A, g1, B, c0, 0, NULL, 0, &zero, b1, C));
		r = (uint16_t *)download(C, 1);
		if (r[0] != 0x47b0 || (r[1] & 0x7f80) != 0x7f80 || (r[1] & 0x7f) == 0) FAIL("bfloat16 300*300 = %04x (want 47b0: 90112), NaN*300 = %04x", r[0], r[1]);
		put(A, (float *)xs, 1);
		CK(cudnnActivationForward(h, ad, &one, t1, A, &zero, t1, C));
		r = (uint16_t *)download(C, 1);
		if (r[0] != 0x5cb0 || r[1] != 0x7e00) FAIL("relu, PROPAGATE_NAN: %04x %04x, want 5cb0 7e00", r[0], r[1]);
		AD an; CK(cudnnCreateActivationDescriptor(&an)); CK(cudnnSetActivationDescriptor(an, RELU, NOPROP, 0));
		CK(cudnnActivationForward(h, an, &one, t1, A, &zero, t1, C));
		r = (uint16_t *)download(C, 1);
		if (r[0] != 0x5cb0 || r[1] != 0) FAIL("relu, NOT_PROPAGATE_NAN: %04x %04x, want 5cb0 0000", r[0], r[1]);
	}
	return 0;
}
`

// NHWC through the strided and N-d setters is NHWC; other strides are not
// computed; the FFT algorithms refuse NHWC; an activation reads and writes
// each tensor in its own layout, in place only with equal strides.
const dnnLayoutRulesSrc = `
st cudnnSetTensor4dDescriptorEx(TD, int, int, int, int, int, int, int, int, int);
st cudnnSetTensorNdDescriptor(TD, int, int, const int *, const int *);
enum { HALF = 2, NHWC = 1, VECT = 2, INT8x4 = 5 };
static TD td4(int fmt, int dt, int n, int c, int hh, int w) { TD d; CK(cudnnCreateTensorDescriptor(&d)); CK(cudnnSetTensor4dDescriptor(d, fmt, dt, n, c, hh, w)); return d; }
static TD tdnd(int dt, const int *dims, const int *strides) { TD d; CK(cudnnCreateTensorDescriptor(&d)); CK(cudnnSetTensorNdDescriptor(d, dt, 4, dims, strides)); return d; }
static TD tdex(int dt, const int *v) { TD d; CK(cudnnCreateTensorDescriptor(&d)); CK(cudnnSetTensor4dDescriptorEx(d, dt, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])); return d; }
int main(void) {
	setup();
	float one = 1, zero = 0;
	enum { N = 2, C = 3, H = 5, W = 4, K = 4 };
	size_t lx = N * C * H * W, ly = N * K * H * W;
	float *x = randv(lx), *w = randv(K * C * 9);
	void *X = upload(x, lx), *Wt = upload(w, K * C * 9), *Y1 = dev(ly), *Y2 = dev(ly), *Y3 = dev(ly), *WS = dev(1 << 20);
	FD wd; CK(cudnnCreateFilterDescriptor(&wd)); CK(cudnnSetFilter4dDescriptor(wd, HALF, NHWC, K, C, 3, 3));
	CD cd = conv(1, 1, 1, 1, 1, 1, CROSS, FMA);
	/* The same half NHWC convolution through the 4-d setter, the N-d setter and the strided setter: the same bytes. */
	TD x4 = td4(NHWC, HALF, N, C, H, W), y4 = td4(NHWC, HALF, N, K, H, W);
	static const int xdims[4] = {N, C, H, W}, xst[4] = {H * W * C, 1, W * C, C}, ydims[4] = {N, K, H, W}, yst[4] = {H * W * K, 1, W * K, K};
	TD xn = tdnd(HALF, xdims, xst), yn = tdnd(HALF, ydims, yst);
	static const int yex[8] = {N, K, H, W, H * W * K, 1, W * K, K};
	TD ye = tdex(HALF, yex);
	CK(cudnnConvolutionForward(h, &one, x4, X, wd, Wt, cd, 0, NULL, 0, &zero, y4, Y1));
	CK(cudnnConvolutionForward(h, &one, xn, X, wd, Wt, cd, 0, NULL, 0, &zero, yn, Y2));
	CK(cudnnConvolutionForward(h, &one, xn, X, wd, Wt, cd, 0, NULL, 0, &zero, ye, Y3));
	float *a = download(Y1, ly / 2), *b = download(Y2, ly / 2), *c = download(Y3, ly / 2);
	if (memcmp(a, b, ly * 2) != 0 || memcmp(a, c, ly * 2) != 0) FAIL("NHWC by the 4-d, N-d and strided setters differ");
	/* Strides that are neither packed NCHW nor NHWC (a padded row) are not computed. */
	static const int gap[8] = {N, K, H, W, K * H * (W + 1), H * (W + 1), W + 1, 1};
	TD yg = tdex(HALF, gap);
	WANT(cudnnConvolutionForward(h, &one, x4, X, wd, Wt, cd, 0, NULL, 0, &zero, yg, Y3), NOT_SUPPORTED);
	AD ad; CK(cudnnCreateActivationDescriptor(&ad)); CK(cudnnSetActivationDescriptor(ad, RELU, PROP, 0));
	WANT(cudnnActivationForward(h, ad, &one, yg, Y1, &zero, yg, Y3), NOT_SUPPORTED);
	/* Find over NHWC: FFT and FFT_TILING (4, 5) refuse it, DIRECT (3) always; the others run. */
	Perf pf[8]; int got;
	CK(cudnnFindConvolutionForwardAlgorithmEx(h, x4, X, wd, Wt, cd, y4, Y1, 8, &got, pf, WS, 1 << 20));
	for (int i = 0; i < got; i++)
		if ((pf[i].status == 0) != (pf[i].algo != 3 && pf[i].algo != 4 && pf[i].algo != 5))
			FAIL("NHWC Find: algo %d status %d", pf[i].algo, pf[i].status);
	WANT(cudnnConvolutionForward(h, &one, x4, X, wd, Wt, cd, 4, WS, 1 << 20, &zero, y4, Y1), NOT_SUPPORTED);
	/* Activation from NCHW x into NHWC y (float): y[n,h,w,c] = relu(x[n,c,h,w]). */
	TD xf = td4(NCHW, FLOAT, N, C, H, W), yf = td4(NHWC, FLOAT, N, C, H, W);
	void *YA = dev(lx);
	CK(cudnnActivationForward(h, ad, &one, xf, X, &zero, yf, YA));
	float *ya = download(YA, lx);
	for (int n = 0; n < N; n++) for (int ch = 0; ch < C; ch++) for (int i = 0; i < H; i++) for (int j = 0; j < W; j++) {
		float v = x[((n * C + ch) * H + i) * W + j], got = ya[((n * H + i) * W + j) * C + ch];
		if (got != (v > 0 ? v : 0)) FAIL("NCHW to NHWC relu at %d,%d,%d,%d: %g from %g", n, ch, i, j, got, v);
	}
	/* In place needs equal strides. */
	WANT(cudnnActivationForward(h, ad, &one, xf, YA, &zero, yf, YA), BAD_PARAM);
	CK(cudnnActivationForward(h, ad, &one, yf, YA, &zero, yf, YA));
	/* NCHW_VECT_C tensors and filters are not computed. */
	TD xv = td4(VECT, INT8x4, N, 4, H, W);
	WANT(cudnnActivationForward(h, ad, &one, xv, X, &zero, xv, YA), NOT_SUPPORTED);
	sync0();
	return 0;
}
`
