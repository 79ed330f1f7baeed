package cudasim

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCUDNN builds the simulator once and proves, each in its own process,
// what the simulated cuDNN claims: results against a naive reference, alpha
// and beta, TF32 only where tensor-op math allows it, Find's seeded order,
// NOT_SUPPORTED entries and garbage, batch norm's documented statistics and
// the strict check of its saved statistics.
func TestCUDNN(t *testing.T) {
	lib := dnnSim(t)
	t.Run("ConvAgainstNaiveReference", func(t *testing.T) { dnnConvReference(t, lib) })
	t.Run("BetaZeroIgnoresNaN", func(t *testing.T) { dnnBetaZero(t, lib) })
	t.Run("TF32OnlyInTensorOpMath", func(t *testing.T) { dnnTF32(t, lib) })
	t.Run("FindOrderSeededNotSupportedGarbage", func(t *testing.T) { dnnFind(t, lib) })
	t.Run("TransformAlgorithmsErrLargerThanFMA", func(t *testing.T) { dnnTransformError(t, lib) })
	t.Run("WorkspaceTooSmall", func(t *testing.T) { dnnWorkspace(t, lib) })
	t.Run("BatchNormSemantics", func(t *testing.T) { dnnBatchNorm(t, lib) })
	t.Run("BatchNormBackwardFedVarianceCaught", func(t *testing.T) { dnnBatchNormVariance(t, lib) })
	t.Run("Activations", func(t *testing.T) { dnnActivation(t, lib) })
	t.Run("DescriptorValidation", func(t *testing.T) { dnnDescriptors(t, lib) })
	t.Run("InPlaceOnlyWhereDocumented", func(t *testing.T) { dnnOverlap(t, lib) })
}

// Random shapes (stride, padding, dilation, both modes), the three
// directions with random alpha and beta, against a double-precision
// reference written here from the definition of cross-correlation.
const dnnConvReferenceSrc = `
static double ref_at(const float *v, int n, int c, int hh, int w, int C, int H, int W) { return v[((size_t)(n * C + c) * H + hh) * W + w]; }
int main(void) {
	setup();
	double worst = 0;
	for (int trial = 0; trial < 24; trial++) {
		int N = 1 + urand() * 3, C = 1 + urand() * 4, K = 1 + urand() * 4, R = 1 + urand() * 4, S = 1 + urand() * 4;
		int ph = urand() * 3, pw = urand() * 3, u = 1 + urand() * 3, v = 1 + urand() * 2, dh = 1 + urand() * 2, dw = 1 + urand() * 2;
		int mode = urand() < 0.5 ? CROSS : CONVOLUTION;
		int H = (R - 1) * dh + 1 + (int)(urand() * 6), W = (S - 1) * dw + 1 + (int)(urand() * 6);
		int Ho = 1 + (H + 2 * ph - ((R - 1) * dh + 1)) / u, Wo = 1 + (W + 2 * pw - ((S - 1) * dw + 1)) / v;
		size_t lx = (size_t)N * C * H * W, lw = (size_t)K * C * R * S, ly = (size_t)N * K * Ho * Wo;
		float *x = randv(lx), *w = randv(lw), *y0 = randv(ly), *dy = randv(ly), *dx0 = randv(lx), *dw0 = randv(lw);
		float alpha = urand() * 2 - 1, beta = trial % 3 == 0 ? 0 : urand() * 2 - 1;
		TD xd = tensor(N, C, H, W), yd = tensor(N, K, Ho, Wo);
		FD wd = filter(K, C, R, S);
		CD cd = conv(ph, pw, u, v, dh, dw, mode, FMA);
		void *X = upload(x, lx), *Wt = upload(w, lw), *Y = upload(y0, ly), *DY = upload(dy, ly), *DX = upload(dx0, lx), *DW = upload(dw0, lw);
		CK(cudnnConvolutionForward(h, &alpha, xd, X, wd, Wt, cd, 0, NULL, 0, &beta, yd, Y));
		CK(cudnnConvolutionBackwardData(h, &alpha, wd, Wt, yd, DY, cd, 0, NULL, 0, &beta, xd, DX));
		CK(cudnnConvolutionBackwardFilter(h, &alpha, xd, X, yd, DY, cd, 0, NULL, 0, &beta, wd, DW));
		float *y = download(Y, ly), *dx = download(DX, lx), *dwt = download(DW, lw);
		double *ry = calloc(ly, sizeof(double)), *rdx = calloc(lx, sizeof(double)), *rdw = calloc(lw, sizeof(double));
		for (int n = 0; n < N; n++) for (int k = 0; k < K; k++) for (int ho = 0; ho < Ho; ho++) for (int wo = 0; wo < Wo; wo++)
		for (int c = 0; c < C; c++) for (int r = 0; r < R; r++) for (int s = 0; s < S; s++) {
			int hi = ho * u - ph + r * dh, wi = wo * v - pw + s * dw;
			if (hi < 0 || hi >= H || wi < 0 || wi >= W) continue;
			int rr = mode == CONVOLUTION ? R - 1 - r : r, ss = mode == CONVOLUTION ? S - 1 - s : s;
			size_t iy = ((size_t)(n * K + k) * Ho + ho) * Wo + wo, iw = ((size_t)(k * C + c) * R + rr) * S + ss;
			size_t ix = ((size_t)(n * C + c) * H + hi) * W + wi;
			ry[iy] += (double)x[ix] * w[iw];
			rdx[ix] += (double)dy[iy] * w[iw];
			rdw[iw] += (double)dy[iy] * x[ix];
		}
		struct { const char *name; const float *got, *old; const double *want; size_t n; } outs[] = {
			{"y", y, y0, ry, ly}, {"dx", dx, dx0, rdx, lx}, {"dw", dwt, dw0, rdw, lw}};
		for (int o = 0; o < 3; o++)
			for (size_t i = 0; i < outs[o].n; i++) {
				double want = alpha * outs[o].want[i] + beta * outs[o].old[i], e = fabs(outs[o].got[i] - want);
				if (e > worst) worst = e;
				if (!(e <= 1e-5 + 1e-5 * fabs(want)))
					FAIL("trial %d %s[%zu] = %g, want %g (N%d C%d H%d W%d K%d R%d S%d pad %d,%d stride %d,%d dil %d,%d mode %d)",
						trial, outs[o].name, i, outs[o].got[i], want, N, C, H, W, K, R, S, ph, pw, u, v, dh, dw, mode);
			}
	}
	printf("worst %g\n", worst);
	return 0;
}
`

func dnnConvReference(t *testing.T, lib string) {
	out := dnnMustRun(t, dnnProgram(t, lib, "convref", dnnConvReferenceSrc))
	t.Logf("largest absolute error: %s", strings.TrimSpace(out))
}

// beta == 0 must not read the output, which may hold NaN ("Scaling
// Parameters"); beta != 0 must read it, so NaN then comes through.
const dnnBetaZeroSrc = `
int main(void) {
	setup();
	float x[4] = {1, -2, 3, -4}, w[1] = {2}, nan4[4] = {NAN, NAN, NAN, NAN};
	float one = 1, zero = 0;
	TD d = tensor(1, 1, 2, 2); FD wd = filter(1, 1, 1, 1); CD cd = conv(0, 0, 1, 1, 1, 1, CROSS, FMA);
	AD ad; CK(cudnnCreateActivationDescriptor(&ad)); CK(cudnnSetActivationDescriptor(ad, RELU, PROP, 0));
	void *X = upload(x, 4), *W = upload(w, 1), *Y = upload(nan4, 4);
	CK(cudnnConvolutionForward(h, &one, d, X, wd, W, cd, 0, NULL, 0, &zero, d, Y));
	float *y = download(Y, 4);
	for (int i = 0; i < 4; i++) if (y[i] != 2 * x[i]) FAIL("conv beta 0: y[%d] = %g, want %g", i, y[i], 2 * x[i]);
	put(Y, nan4, 4);
	CK(cudnnActivationForward(h, ad, &one, d, X, &zero, d, Y));
	y = download(Y, 4);
	for (int i = 0; i < 4; i++) if (y[i] != (x[i] > 0 ? x[i] : 0)) FAIL("relu beta 0: y[%d] = %g", i, y[i]);
	put(Y, nan4, 4);
	CK(cudnnConvolutionForward(h, &one, d, X, wd, W, cd, 0, NULL, 0, &one, d, Y));
	y = download(Y, 4);
	for (int i = 0; i < 4; i++) if (!isnan(y[i])) FAIL("conv beta 1 did not read y: y[%d] = %g", i, y[i]);
	return 0;
}
`

func dnnBetaZero(t *testing.T, lib string) {
	dnnMustRun(t, dnnProgram(t, lib, "beta0", dnnBetaZeroSrc))
}

// x = 1 + 2^-12 is below TF32's precision and 1 + 2^-11 is exactly half a
// TF32 unit (ties away from zero): a 1x1 convolution by 1 shows whether the
// input was rounded. Tensor-op math with a tensor-core algorithm
// (IMPLICIT_PRECOMP_GEMM) rounds; FMA math does not; DEFAULT_MATH rounds on
// compute capability 9.0 unless NVIDIA_TF32_OVERRIDE=0; an algorithm that
// does not run on tensor cores (GEMM) never rounds.
const dnnTF32Src = `
int main(void) {
	setup();
	float x[2] = {1 + 0x1p-12f, 1 + 0x1p-11f}, w[1] = {1}, one = 1, zero = 0;
	TD xd = tensor(1, 1, 1, 2); FD wd = filter(1, 1, 1, 1);
	void *X = upload(x, 2), *W = upload(w, 1), *Y = dev(2), *WS = dev(1 << 16);
	int maths[] = {TENSOR_OP, FMA, DEFAULT_MATH};
	for (int m = 0; m < 3; m++)
		for (int algo = 1; algo <= 2; algo++) {
			CD cd = conv(0, 0, 1, 1, 1, 1, CROSS, maths[m]);
			CK(cudnnConvolutionForward(h, &one, xd, X, wd, W, cd, algo, WS, 4 << 16, &zero, xd, Y));
			float *y = download(Y, 2);
			printf("math %d algo %d: %a %a\n", maths[m], algo, y[0], y[1]);
		}
	return 0;
}
`

func dnnTF32(t *testing.T, lib string) {
	exe := dnnProgram(t, lib, "tf32", dnnTF32Src)
	const exact, rounded = "0x1.001p+0 0x1.002p+0", "0x1p+0 0x1.004p+0"
	for _, c := range []struct {
		env  string
		want map[string]string
	}{
		{"NVIDIA_TF32_OVERRIDE=", map[string]string{
			"math 1 algo 1": rounded, "math 3 algo 1": exact, "math 0 algo 1": rounded,
			"math 1 algo 2": exact, "math 3 algo 2": exact, "math 0 algo 2": exact}},
		{"NVIDIA_TF32_OVERRIDE=0", map[string]string{"math 1 algo 1": rounded, "math 0 algo 1": exact}},
	} {
		out := dnnMustRun(t, exe, c.env)
		for k, want := range c.want {
			if !strings.Contains(out, k+": "+want+"\n") {
				t.Errorf("%s: want %q: %s, got:\n%s", c.env, k, want, out)
			}
		}
	}
}

// Find: the order of the algorithms depends on CUDASIM_SEED and is the same
// for the same seed; a stride-2 convolution has NOT_SUPPORTED entries (FFT,
// Winograd, and DIRECT always), sorted after the successes; some need a
// workspace; returnedAlgoCount honours requestedAlgoCount; the output buffer
// holds garbage afterwards, on the stream.
const dnnFindSrc = `
int main(void) {
	setup();
	int N = 2, C = 3, H = 9, W = 9, K = 4;
	float *x = randv(N * C * H * W), *w = randv(K * C * 9);
	TD xd = tensor(N, C, H, W), yd = tensor(N, K, 5, 5); FD wd = filter(K, C, 3, 3);
	CD cd = conv(1, 1, 2, 2, 1, 1, CROSS, FMA);
	void *X = upload(x, N * C * H * W), *Wt = upload(w, K * C * 9), *Y = dev(N * K * 25), *WS = dev(1 << 20);
	Perf p[16];
	int n = -1;
	CK(cudnnFindConvolutionForwardAlgorithmEx(h, xd, X, wd, Wt, cd, yd, Y, 16, &n, p, WS, 4 << 20));
	printf("returned %d\n", n);
	int failed = 0;
	for (int i = 0; i < n; i++) {
		printf("algo %d status %d memory %zu math %d det %d\n", p[i].algo, p[i].status, p[i].memory, p[i].mathType, p[i].determinism);
		if (p[i].status != OK) failed = 1;
		else if (failed) FAIL("a success after a failure at %d", i);
		if (p[i].status == OK && i > 0 && p[i - 1].time > p[i].time) FAIL("not sorted by time at %d", i);
	}
	float *y = download(Y, N * K * 25);
	int nans = 0;
	for (int i = 0; i < N * K * 25; i++) nans += isnan(y[i]);
	float one = 1, zero = 0;
	CK(cudnnConvolutionForward(h, &one, xd, X, wd, Wt, cd, p[0].algo, WS, 4 << 20, &zero, yd, Y));
	float *good = download(Y, N * K * 25);
	int same = 0;
	for (int i = 0; i < N * K * 25; i++) same += y[i] == good[i];
	printf("garbage nans %d same %d of %d\n", nans, same, N * K * 25);
	CK(cudnnFindConvolutionBackwardDataAlgorithmEx(h, wd, Wt, yd, Y, cd, xd, X, 3, &n, p, WS, 4 << 20));
	printf("bwd-data returned %d\n", n);
	CK(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, xd, X, yd, Y, cd, wd, Wt, 16, &n, p, WS, 4 << 20));
	printf("bwd-filter returned %d\n", n);
	/* No workspace: the algorithms that need one report the allocation failure, after the successes. */
	CK(cudnnFindConvolutionForwardAlgorithmEx(h, xd, X, wd, Wt, cd, yd, Y, 16, &n, p, NULL, 0));
	for (int i = 0; i < n; i++) printf("nows algo %d status %d memory %zu\n", p[i].algo, p[i].status, p[i].memory);
	/* DEFAULT_MATH: the algorithms that then use tensor cores say TENSOR_OP_MATH. */
	CD dd = conv(1, 1, 2, 2, 1, 1, CROSS, DEFAULT_MATH);
	CK(cudnnFindConvolutionForwardAlgorithmEx(h, xd, X, wd, Wt, dd, yd, Y, 16, &n, p, WS, 4 << 20));
	for (int i = 0; i < n; i++) printf("default algo %d math %d\n", p[i].algo, p[i].mathType);
	sync0();
	WANT(cudnnFindConvolutionForwardAlgorithmEx(h, xd, X, wd, Wt, cd, yd, Y, 0, &n, p, WS, 4 << 20), BAD_PARAM);
	WANT(cudnnFindConvolutionForwardAlgorithmEx(h, xd, X, wd, Wt, cd, yd, Y, 4, NULL, p, WS, 4 << 20), BAD_PARAM);
	return 0;
}
`

func dnnFind(t *testing.T, lib string) {
	exe := dnnProgram(t, lib, "find", dnnFindSrc)
	order := func(seed int) []string {
		out := dnnMustRun(t, exe, fmt.Sprintf("CUDASIM_SEED=%d", seed))
		if !strings.Contains(out, "returned 8\n") || !strings.Contains(out, "bwd-data returned 3\n") ||
			!strings.Contains(out, "bwd-filter returned 7\n") {
			t.Fatalf("seed %d: returnedAlgoCount wrong:\n%s", seed, out)
		}
		algos := dnnLines(out, "algo ")
		notSupported, workspace := 0, 0
		for _, a := range algos {
			var id, status, math, det int
			var mem uint64
			if _, err := fmt.Sscanf(a, "%d status %d memory %d math %d det %d", &id, &status, &mem, &math, &det); err != nil {
				t.Fatalf("%q: %v", a, err)
			}
			if status == 3000 {
				notSupported++
			}
			if mem > 0 {
				workspace++
			}
			if math != 3 {
				t.Errorf("seed %d: algo %d reports math type %d under FMA math", seed, id, math)
			}
		}
		if notSupported < 3 || workspace == 0 {
			t.Errorf("seed %d: %d NOT_SUPPORTED entries (want >= 3: DIRECT, FFT, FFT_TILING, Winograd at stride 2), %d with a workspace:\n%s",
				seed, notSupported, workspace, out)
		}
		g := dnnLines(out, "garbage ")
		var nans, same, total int
		if len(g) != 1 {
			t.Fatalf("no garbage line:\n%s", out)
		}
		fmt.Sscanf(g[0], "nans %d same %d of %d", &nans, &same, &total)
		if nans == 0 || same > total/4 {
			t.Errorf("seed %d: Find left %d NaN and %d of %d correct results; want garbage", seed, nans, same, total)
		}
		var ids []string
		for _, a := range algos {
			ids = append(ids, strings.Fields(a)[0])
		}
		return ids
	}
	stats := filepath.Join(t.TempDir(), "stats.json")
	out := dnnMustRun(t, exe, "CUDASIM_STATS="+stats)
	failed := false
	for _, l := range dnnLines(out, "nows algo ") {
		var id, status int
		var mem uint64
		fmt.Sscanf(l, "%d status %d memory %d", &id, &status, &mem)
		switch {
		case status == 0 && mem > 0:
			t.Errorf("no workspace: algo %d succeeded needing %d bytes", id, mem)
		case status == 4004 && mem == 0:
			t.Errorf("no workspace: algo %d failed to allocate nothing", id)
		case status == 0 && failed:
			t.Errorf("no workspace: algo %d succeeded after a failure", id)
		}
		failed = failed || status != 0
	}
	if !strings.Contains(out, "nows algo 2 status 4004") {
		t.Errorf("GEMM without workspace should report INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED (4004):\n%s", out)
	}
	for _, l := range dnnLines(out, "default algo ") {
		var id, math int
		fmt.Sscanf(l, "%d math %d", &id, &math)
		if want := map[bool]int{true: 1, false: 0}[id <= 1]; math != want {
			t.Errorf("DEFAULT_MATH Find: algo %d reports math %d, want %d (TENSOR_OP for the tensor-core GEMMs)", id, math, want)
		}
	}
	js, err := os.ReadFile(stats)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Counters map[string]int }
	if err := json.Unmarshal(js, &st); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	if st.Counters["cudnnFindConvolutionForwardAlgorithmEx"] != 3 || st.Counters["cudnnConvolutionForward"] != 1 ||
		st.Counters["cudnnFindConvolutionBackwardDataAlgorithmEx"] != 1 || st.Counters["cudnn_calls"] != 6 {
		t.Errorf("counters: %v, want 3 forward Find, 1 forward, 1 backward-data Find, 6 cuDNN calls in all", st.Counters)
	}
	first := order(1)
	if again := order(1); !slices.Equal(first, again) {
		t.Errorf("seed 1 gave %v, then %v: not reproducible", first, again)
	}
	differs := false
	for seed := 2; seed < 6 && !differs; seed++ {
		differs = !slices.Equal(first, order(seed))
	}
	if !differs {
		t.Errorf("seeds 1..5 all gave the order %v", first)
	}
}

// FFT, FFT_TILING and WINOGRAD_NONFUSED give a larger error than an FMA
// algorithm: measured against IMPLICIT_GEMM's result on the same data.
const dnnTransformErrorSrc = `
int main(void) {
	setup();
	int N = 2, C = 4, H = 8, W = 8, K = 4;
	float *x = randv(N * C * H * W), *w = randv(K * C * 9), one = 1, zero = 0;
	TD xd = tensor(N, C, H, W); FD wd = filter(K, C, 3, 3); CD cd = conv(1, 1, 1, 1, 1, 1, CROSS, FMA);
	void *X = upload(x, N * C * H * W), *Wt = upload(w, K * C * 9), *Y = dev(N * K * H * W), *WS = dev(16 << 20);
	size_t n = N * K * H * W;
	CK(cudnnConvolutionForward(h, &one, xd, X, wd, Wt, cd, 0, NULL, 0, &zero, xd, Y));
	float *ref = download(Y, n);
	for (int algo = 0; algo < 8; algo++) {
		int s = cudnnConvolutionForward(h, &one, xd, X, wd, Wt, cd, algo, WS, 64 << 20, &zero, xd, Y);
		if (s != OK) { printf("algo %d status %d\n", algo, s); continue; }
		float *y = download(Y, n);
		double worst = 0;
		for (size_t i = 0; i < n; i++) { double e = fabs(y[i] - ref[i]) / (fabs(ref[i]) + 1); if (e > worst) worst = e; }
		printf("algo %d err %g\n", algo, worst);
	}
	return 0;
}
`

func dnnTransformError(t *testing.T, lib string) {
	out := dnnMustRun(t, dnnProgram(t, lib, "transform", dnnTransformErrorSrc))
	errs := map[int]float64{}
	for _, l := range dnnLines(out, "algo ") {
		var algo int
		var e float64
		if _, err := fmt.Sscanf(l, "%d err %g", &algo, &e); err == nil {
			errs[algo] = e
		}
	}
	for _, a := range []int{0, 1, 2, 6} { // GEMMs and fused Winograd: FMA-grade
		if e, ok := errs[a]; !ok || e > 1e-6 {
			t.Errorf("algo %d: error %g (present %v), want FMA-grade (<= 1e-6)\n%s", a, e, ok, out)
		}
	}
	for _, a := range []int{4, 5, 7} { // FFT, FFT_TILING, WINOGRAD_NONFUSED
		if e, ok := errs[a]; !ok || e < 1e-5 || e > 1e-3 {
			t.Errorf("algo %d: error %g (present %v), want the modelled 1e-5..1e-3\n%s", a, e, ok, out)
		}
	}
	if !strings.Contains(out, "algo 3 status 3000") {
		t.Errorf("DIRECT should be NOT_SUPPORTED:\n%s", out)
	}
}

// An algorithm's workspace need is enforced: GEMM with none is BAD_PARAM.
const dnnWorkspaceSrc = `
int main(void) {
	setup();
	float one = 1, zero = 0;
	TD xd = tensor(1, 2, 5, 5); FD wd = filter(2, 2, 3, 3); CD cd = conv(1, 1, 1, 1, 1, 1, CROSS, FMA);
	void *X = dev(50), *W = dev(36), *Y = dev(50), *WS = dev(4096);
	WANT(cudnnConvolutionForward(h, &one, xd, X, wd, W, cd, 2, NULL, 0, &zero, xd, Y), BAD_PARAM);
	WANT(cudnnConvolutionForward(h, &one, xd, X, wd, W, cd, 2, WS, 16, &zero, xd, Y), BAD_PARAM);
	WANT(cudnnConvolutionForward(h, &one, xd, X, wd, W, cd, 2, WS, 4 * 4096, &zero, xd, Y), OK);
	WANT(cudnnConvolutionForward(h, &one, xd, X, wd, W, cd, 8, NULL, 0, &zero, xd, Y), BAD_PARAM);
	WANT(cudnnConvolutionForward(h, &one, xd, X, wd, W, cd, 3, NULL, 0, &zero, xd, Y), NOT_SUPPORTED);
	return 0;
}
`

func dnnWorkspace(t *testing.T, lib string) {
	dnnMustRun(t, dnnProgram(t, lib, "workspace", dnnWorkspaceSrc))
}

// Batch norm: saved mean and 1/sqrt(biased var + eps); running statistics
// with exponentialAverageFactor and the unbiased variance; inference with
// the running statistics; backward against the textbook gradient, with the
// two alpha/beta pairs, and with NULL saved statistics (recomputed); the
// documented BAD_PARAM cases; per-activation mode's statistics over N only.
const dnnBatchNormSrc = `
int main(void) {
	setup();
	int N = 3, C = 2, H = 2, W = 3, M = N * H * W;
	size_t L = N * C * H * W;
	float *x = randv(L), *dy = randv(L), g[2] = {1.5f, -0.5f}, b[2] = {0.25f, 2}, rm0[2] = {0.1f, -0.2f}, rv0[2] = {1, 2};
	double eps = 1e-3, f = 0.1;
	float one = 1, zero = 0, half = 0.5f;
	TD xd = tensor(N, C, H, W), pd = tensor(1, C, 1, 1);
	void *X = upload(x, L), *Y = dev(L), *G = upload(g, 2), *B = upload(b, 2), *RM = upload(rm0, 2), *RV = upload(rv0, 2);
	void *SM = dev(2), *SI = dev(2), *DX = upload(dy, L), *DG = upload(g, 2), *DB = upload(b, 2), *DY = upload(dy, L);
	CK(cudnnBatchNormalizationForwardTraining(h, SPATIAL, &one, &zero, xd, X, xd, Y, pd, G, B, f, RM, RV, eps, SM, SI));
	float *y = download(Y, L), *sm = download(SM, 2), *si = download(SI, 2), *rm = download(RM, 2), *rv = download(RV, 2);
	double mean[2], var[2];
	for (int c = 0; c < C; c++) {
		double s = 0, ss = 0;
		for (int n = 0; n < N; n++) for (int i = 0; i < H * W; i++) s += x[(n * C + c) * H * W + i];
		mean[c] = s / M;
		for (int n = 0; n < N; n++) for (int i = 0; i < H * W; i++) { double d = x[(n * C + c) * H * W + i] - mean[c]; ss += d * d; }
		var[c] = ss / M;
		if (fabs(sm[c] - mean[c]) > 1e-6) FAIL("saveMean[%d] = %g, want %g", c, sm[c], mean[c]);
		if (fabs(si[c] - 1 / sqrt(var[c] + eps)) > 1e-5) FAIL("saveInvVariance[%d] = %g, want 1/sqrt(var+eps) = %g", c, si[c], 1 / sqrt(var[c] + eps));
		if (fabs(rm[c] - ((1 - f) * rm0[c] + f * mean[c])) > 1e-6) FAIL("runningMean[%d] = %g", c, rm[c]);
		double unbiased = var[c] * M / (M - 1);
		if (fabs(rv[c] - ((1 - f) * rv0[c] + f * unbiased)) > 1e-6) FAIL("runningVariance[%d] = %g, want %g (unbiased)", c, rv[c], (1 - f) * rv0[c] + f * unbiased);
		for (int n = 0; n < N; n++) for (int i = 0; i < H * W; i++) {
			int j = (n * C + c) * H * W + i;
			double want = g[c] * (x[j] - mean[c]) / sqrt(var[c] + eps) + b[c];
			if (fabs(y[j] - want) > 1e-5) FAIL("y[%d] = %g, want %g", j, y[j], want);
		}
	}
	CK(cudnnBatchNormalizationForwardInference(h, SPATIAL, &one, &zero, xd, X, xd, Y, pd, G, B, RM, RV, eps));
	y = download(Y, L);
	for (int j = 0; j < (int)L; j++) {
		int c = (j / (H * W)) % C;
		double want = g[c] * (x[j] - rm[c]) / sqrt(rv[c] + eps) + b[c];
		if (fabs(y[j] - want) > 1e-5) FAIL("inference y[%d] = %g, want %g", j, y[j], want);
	}
	/* dx = 1·grad + 0.5·dx_old (dx_old = dy); dgamma = 1·grad + 0.5·g; dbeta = 1·grad + 0.5·b. */
	CK(cudnnBatchNormalizationBackward(h, SPATIAL, &one, &half, &one, &half, xd, X, xd, DY, xd, DX, pd, G, DG, DB, eps, SM, SI));
	float *dx = download(DX, L), *dg = download(DG, 2), *db = download(DB, 2);
	for (int c = 0; c < C; c++) {
		double is = 1 / sqrt(var[c] + eps), sdy = 0, sdyx = 0;
		for (int n = 0; n < N; n++) for (int i = 0; i < H * W; i++) {
			int j = (n * C + c) * H * W + i;
			sdy += dy[j]; sdyx += dy[j] * (x[j] - mean[c]) * is;
		}
		if (fabs(db[c] - (sdy + 0.5 * b[c])) > 1e-5) FAIL("dbeta[%d] = %g, want %g", c, db[c], sdy + 0.5 * b[c]);
		if (fabs(dg[c] - (sdyx + 0.5 * g[c])) > 1e-5) FAIL("dgamma[%d] = %g, want %g", c, dg[c], sdyx + 0.5 * g[c]);
		for (int n = 0; n < N; n++) for (int i = 0; i < H * W; i++) {
			int j = (n * C + c) * H * W + i;
			double xh = (x[j] - mean[c]) * is, want = g[c] * is / M * (M * dy[j] - sdy - xh * sdyx) + 0.5 * dy[j];
			if (fabs(dx[j] - want) > 1e-5) FAIL("dx[%d] = %g, want %g", j, dx[j], want);
		}
	}
	/* NULL saved statistics: recomputed from x, same result (dx written: beta 0). */
	CK(cudnnBatchNormalizationBackward(h, SPATIAL, &one, &zero, &one, &zero, xd, X, xd, DY, xd, DX, pd, G, DG, DB, eps, SM, SI));
	float *with = download(DX, L);
	CK(cudnnBatchNormalizationBackward(h, SPATIAL, &one, &zero, &one, &zero, xd, X, xd, DY, xd, DX, pd, G, DG, DB, eps, NULL, NULL));
	float *without = download(DX, L);
	for (int j = 0; j < (int)L; j++) if (fabs(with[j] - without[j]) > 1e-5) FAIL("NULL saved stats: dx[%d] %g vs %g", j, without[j], with[j]);
	/* Per-activation: one statistic per (c, h, w), over the N images. */
	TD ad = tensor(1, C, H, W);
	float *ga = randv(C * H * W), *ba = randv(C * H * W);
	void *GA = upload(ga, C * H * W), *BA = upload(ba, C * H * W), *SMA = dev(C * H * W), *SIA = dev(C * H * W);
	CK(cudnnBatchNormalizationForwardTraining(h, PER_ACT, &one, &zero, xd, X, xd, Y, ad, GA, BA, f, NULL, NULL, eps, SMA, SIA));
	y = download(Y, L);
	float *sma = download(SMA, C * H * W), *sia = download(SIA, C * H * W);
	for (int p = 0; p < C * H * W; p++) {
		double s = 0, ss = 0;
		for (int n = 0; n < N; n++) s += x[n * C * H * W + p];
		double mu = s / N;
		for (int n = 0; n < N; n++) ss += (x[n * C * H * W + p] - mu) * (x[n * C * H * W + p] - mu);
		double is = 1 / sqrt(ss / N + eps);
		if (fabs(sma[p] - mu) > 1e-6 || fabs(sia[p] - is) > 1e-4 * is) FAIL("per-activation stats[%d] %g %g, want %g %g", p, sma[p], sia[p], mu, is);
		for (int n = 0; n < N; n++) {
			double want = ga[p] * (x[n * C * H * W + p] - mu) * is + ba[p];
			if (fabs(y[n * C * H * W + p] - want) > 1e-4) FAIL("per-activation y[%d] = %g, want %g", n * C * H * W + p, y[n * C * H * W + p], want);
		}
	}
	WANT(cudnnBatchNormalizationForwardTraining(h, PER_ACT, &one, &zero, xd, X, xd, Y, pd, G, B, f, NULL, NULL, eps, NULL, NULL), BAD_PARAM);
	WANT(cudnnBatchNormalizationForwardTraining(h, SPATIAL, &one, &zero, xd, X, xd, Y, pd, G, B, f, RM, RV, -1e-5, SM, SI), BAD_PARAM);
	WANT(cudnnBatchNormalizationForwardTraining(h, SPATIAL, &one, &zero, xd, X, xd, Y, pd, G, B, f, RM, NULL, eps, SM, SI), BAD_PARAM);
	WANT(cudnnBatchNormalizationForwardTraining(h, SPATIAL, &one, &zero, xd, X, xd, Y, pd, G, B, f, RM, RV, eps, NULL, SI), BAD_PARAM);
	WANT(cudnnBatchNormalizationForwardTraining(h, SPATIAL, &one, &zero, xd, X, xd, Y, xd, G, B, f, RM, RV, eps, SM, SI), BAD_PARAM);
	WANT(cudnnBatchNormalizationForwardTraining(h, SPATIAL, &one, &zero, xd, X, xd, Y, pd, G, B, f, NULL, NULL, eps, NULL, NULL), OK);
	WANT(cudnnBatchNormalizationBackward(h, SPATIAL, &one, &zero, &one, &zero, xd, X, xd, DY, xd, DX, pd, G, DG, DB, eps, SM, NULL), BAD_PARAM);
	WANT(cudnnBatchNormalizationForwardInference(h, SPATIAL, &one, &zero, xd, X, xd, Y, pd, G, B, NULL, RV, eps), BAD_PARAM);
	sync0();
	return 0;
}
`

func dnnBatchNorm(t *testing.T, lib string) {
	dnnMustRun(t, dnnProgram(t, lib, "bn", dnnBatchNormSrc))
}

// The strict check of the saved statistics: the backward pass fed the
// variance instead of the inverse standard deviation is an error on the
// stream, named as such; fed values that are not x's statistics, an error
// too; fed the forward's own pair, or the same statistics computed on the
// host, fine. With CUDASIM_STRICT=0 the simulator behaves as a GPU.
const dnnBatchNormVarianceSrc = `
int main(int argc, char **argv) {
	const char *mode = getenv("FEED");
	setup();
	int N = 4, C = 3, HW = 5, M = N * HW;
	size_t L = N * C * HW;
	float *x = randv(L), *dy = randv(L), g[3] = {1, 2, 3}, b[3] = {0};
	float one = 1, zero = 0;
	double eps = 1e-5;
	TD xd = tensor(N, C, HW, 1), pd = tensor(1, C, 1, 1);
	void *X = upload(x, L), *Y = dev(L), *G = upload(g, 3), *B = upload(b, 3), *SM = dev(3), *SI = dev(3);
	void *DX = dev(L), *DG = dev(3), *DB = dev(3), *DY = upload(dy, L);
	CK(cudnnBatchNormalizationForwardTraining(h, SPATIAL, &one, &zero, xd, X, xd, Y, pd, G, B, 0.1, NULL, NULL, eps, SM, SI));
	float var[3];
	for (int c = 0; c < C; c++) {
		double s = 0, ss = 0;
		for (int n = 0; n < N; n++) for (int i = 0; i < HW; i++) s += x[(n * C + c) * HW + i];
		double mu = s / M;
		for (int n = 0; n < N; n++) for (int i = 0; i < HW; i++) { double d = x[(n * C + c) * HW + i] - mu; ss += d * d; }
		var[c] = (float)(ss / M);
	}
	void *feed = SI;
	if (strcmp(mode, "variance") == 0) feed = upload(var, 3);
	if (strcmp(mode, "other") == 0) { float o[3] = {1, 1, 1}; feed = upload(o, 3); }
	if (strcmp(mode, "host") == 0) { float o[3]; for (int c = 0; c < C; c++) o[c] = 1 / sqrtf(var[c] + (float)eps); feed = upload(o, 3); }
	CK(cudnnBatchNormalizationBackward(h, SPATIAL, &one, &zero, &one, &zero, xd, X, xd, DY, xd, DX, pd, G, DG, DB, eps, SM, feed));
	int r = cuStreamSynchronize(NULL);
	printf("sync %d\n", r);
	return 0;
}
`

func dnnBatchNormVariance(t *testing.T, lib string) {
	dnnStrictFeeds(t, dnnProgram(t, lib, "bnvar", dnnBatchNormVarianceSrc), []strictFeed{
		{"invstd", "", false, ""},
		{"host", "", false, ""},
		{"variance", "", true, "is the batch variance of x"},
		{"other", "", true, "are not the statistics of x"},
		{"variance", "0", false, ""},
	})
}

// strictFeed is one run of a program that feeds a call something (FEED)
// under CUDASIM_STRICT=strict: whether its stream must fail, and what the
// simulator's message then says.
type strictFeed struct {
	feed, strict string
	fails        bool
	says         string
}

// dnnStrictFeeds runs exe once per case and checks that its stream fails
// (the program prints "sync 0" when it does not) exactly when the case
// says, with the case's message on stderr.
func dnnStrictFeeds(t *testing.T, exe string, cases []strictFeed) {
	t.Helper()
	for _, c := range cases {
		out, errOut, ok := dnnRun(t, exe, "FEED="+c.feed, "CUDASIM_STRICT="+c.strict)
		if !ok {
			t.Fatalf("%s: program failed:\n%s\n%s", c.feed, out, errOut)
		}
		failed := !strings.Contains(out, "sync 0\n")
		if failed != c.fails || (c.fails && !strings.Contains(errOut, c.says)) {
			t.Errorf("feed %s, CUDASIM_STRICT=%q: stream failed %v (want %v), stderr wants %q:\n%s%s",
				c.feed, c.strict, failed, c.fails, c.says, out, errOut)
		}
	}
}

// Activations: ReLU with and without NaN propagation, sigmoid, tanh,
// clipped ReLU, ELU forward and backward with alpha/beta; IDENTITY refused;
// the strict check of a backward fed a y that is not f(x).
const dnnActivationSrc = `
int main(void) {
	setup();
	float x[6] = {-2, -0.5f, 0.25f, 1, 3, NAN}, dy[6] = {1, 2, 3, 4, 5, 6}, one = 1, zero = 0, two = 2;
	TD d = tensor(1, 1, 1, 6);
	void *X = upload(x, 6), *Y = dev(6), *DY = upload(dy, 6), *DX = dev(6);
	int modes[] = {RELU, RELU, SIGMOID, 2, 3, 4};
	int nans[] = {PROP, NOPROP, PROP, PROP, PROP, PROP};
	for (int m = 0; m < 6; m++) {
		AD ad; CK(cudnnCreateActivationDescriptor(&ad)); CK(cudnnSetActivationDescriptor(ad, modes[m], nans[m], 1.5));
		CK(cudnnActivationForward(h, ad, &two, d, X, &zero, d, Y));
		float *y = download(Y, 6);
		float yy[6];
		for (int i = 0; i < 6; i++) yy[i] = y[i] / 2;
		void *Y1 = upload(yy, 6);
		put(DX, dy, 6);
		CK(cudnnActivationBackward(h, ad, &one, d, Y1, d, DY, d, X, &one, d, DX));
		float *dx = download(DX, 6);
		printf("mode %d nan %d:", modes[m], nans[m]);
		for (int i = 0; i < 6; i++) printf(" %.6g/%.6g", y[i], dx[i]);
		printf("\n");
	}
	AD id; CK(cudnnCreateActivationDescriptor(&id)); CK(cudnnSetActivationDescriptor(id, 5, PROP, 0));
	WANT(cudnnActivationForward(h, id, &one, d, X, &zero, d, Y), BAD_PARAM);
	WANT(cudnnSetActivationDescriptor(id, 9, PROP, 0), BAD_PARAM);
	AD relu; CK(cudnnCreateActivationDescriptor(&relu)); CK(cudnnSetActivationDescriptor(relu, RELU, PROP, 0));
	CK(cudnnActivationBackward(h, relu, &one, d, DY, d, DY, d, X, &zero, d, DX)); /* y is not relu(x) */
	printf("mismatch sync %d\n", cuStreamSynchronize(NULL));
	return 0;
}
`

func dnnActivation(t *testing.T, lib string) {
	out, errOut, ok := dnnRun(t, dnnProgram(t, lib, "act", dnnActivationSrc))
	if !ok {
		t.Fatalf("program failed:\n%s\n%s", out, errOut)
	}
	// y = 2·f(x); dx = f'(x)·dy + dx_old (= dy), f' from the forward pair.
	x := []float64{-2, -0.5, 0.25, 1, 3, math.NaN()}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	relu := func(v float64) float64 { return math.Max(v, 0) }
	step := func(v float64) float64 {
		if v > 0 {
			return 1
		}
		return 0
	}
	type ref struct {
		f, df func(x, y float64) float64
	}
	refs := map[string]ref{
		"mode 1 nan 1": {func(x, _ float64) float64 { return relu(x) }, func(x, _ float64) float64 { return step(x) }},
		"mode 1 nan 0": {func(x, _ float64) float64 {
			if math.IsNaN(x) {
				return 0
			}
			return relu(x)
		}, func(x, _ float64) float64 { return step(x) }},
		"mode 0 nan 1": {func(x, _ float64) float64 { return sig(x) }, func(_, y float64) float64 { return y * (1 - y) }},
		"mode 2 nan 1": {func(x, _ float64) float64 { return math.Tanh(x) }, func(_, y float64) float64 { return 1 - y*y }},
		"mode 3 nan 1": {func(x, _ float64) float64 {
			if math.IsNaN(x) {
				return x
			}
			return math.Min(relu(x), 1.5)
		}, func(x, _ float64) float64 { return step(x) * step(1.5-x) }},
		"mode 4 nan 1": {func(x, _ float64) float64 {
			if x > 0 {
				return x
			}
			return 1.5 * math.Expm1(x)
		}, func(x, y float64) float64 {
			if x > 0 {
				return 1
			}
			return y + 1.5
		}},
	}
	close := func(got, want float64) bool {
		return (math.IsNaN(got) && math.IsNaN(want)) || math.Abs(got-want) <= 1e-5+1e-5*math.Abs(want)
	}
	for name, r := range refs {
		lines := dnnLines(out, name+":")
		if len(lines) != 1 {
			t.Errorf("no line %q in:\n%s", name, out)
			continue
		}
		pairs := strings.Fields(lines[0])
		for i, p := range pairs {
			yStr, dxStr, _ := strings.Cut(p, "/")
			y, err1 := strconv.ParseFloat(yStr, 64)
			dx, err2 := strconv.ParseFloat(dxStr, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: bad pair %q", name, p)
			}
			fy := r.f(x[i], 0)
			wantDx := r.df(x[i], fy)*float64(i+1) + float64(i+1)
			if !close(y, 2*fy) || !close(dx, wantDx) {
				t.Errorf("%s, x = %g: y = %g, dx = %g; want %g, %g", name, x[i], y, dx, 2*fy, wantDx)
			}
		}
	}
	if strings.Contains(out, "mismatch sync 0") || !strings.Contains(errOut, "is not the forward output") {
		t.Errorf("a backward whose y is not f(x) was not caught:\n%s\n%s", out, errOut)
	}
}

// Descriptor setters refuse what the API reference says they refuse, and
// the convolution calls refuse mismatched descriptors.
const dnnDescriptorsSrc = `
int main(void) {
	setup();
	if (cudnnGetVersion() / 10000 != 9) FAIL("version %zu is not 9.x", cudnnGetVersion());
	if (cudnnGetCudartVersion() / 1000 != 13) FAIL("cudart %zu is not 13.x", cudnnGetCudartVersion());
	if (strcmp(cudnnGetErrorString(BAD_PARAM), "CUDNN_STATUS_BAD_PARAM") != 0) FAIL("error string %s", cudnnGetErrorString(BAD_PARAM));
	TD t; CK(cudnnCreateTensorDescriptor(&t));
	WANT(cudnnSetTensor4dDescriptor(t, NCHW, FLOAT, 0, 1, 1, 1), BAD_PARAM);
	WANT(cudnnSetTensor4dDescriptor(t, NCHW, 99, 1, 1, 1, 1), BAD_PARAM);
	WANT(cudnnSetTensor4dDescriptor(t, 7, FLOAT, 1, 1, 1, 1), BAD_PARAM);
	FD f; CK(cudnnCreateFilterDescriptor(&f));
	WANT(cudnnSetFilter4dDescriptor(f, FLOAT, NCHW, 1, -1, 3, 3), BAD_PARAM);
	CD c; CK(cudnnCreateConvolutionDescriptor(&c));
	WANT(cudnnSetConvolution2dDescriptor(c, -1, 0, 1, 1, 1, 1, CROSS, FLOAT), BAD_PARAM);
	WANT(cudnnSetConvolution2dDescriptor(c, 0, 0, 0, 1, 1, 1, CROSS, FLOAT), BAD_PARAM);
	WANT(cudnnSetConvolution2dDescriptor(c, 0, 0, 1, 1, 0, 1, CROSS, FLOAT), BAD_PARAM);
	WANT(cudnnSetConvolution2dDescriptor(c, 0, 0, 1, 1, 1, 1, 2, FLOAT), BAD_PARAM);
	WANT(cudnnSetConvolutionMathType(c, 4), BAD_PARAM);
	float one = 1, zero = 0;
	void *X = dev(64), *W = dev(64), *Y = dev(64);
	TD x = tensor(1, 2, 4, 4), y = tensor(1, 2, 4, 4), y2 = tensor(1, 2, 3, 3), x3 = tensor(1, 3, 4, 4);
	FD w = filter(2, 2, 3, 3);
	CD cd = conv(1, 1, 1, 1, 1, 1, CROSS, FMA);
	WANT(cudnnConvolutionForward(h, &one, x, X, w, W, cd, 0, NULL, 0, &zero, y, Y), OK);
	WANT(cudnnConvolutionForward(h, &one, x, X, w, W, cd, 0, NULL, 0, &zero, y2, Y), NOT_SUPPORTED);
	WANT(cudnnConvolutionForward(h, &one, x3, X, w, W, cd, 0, NULL, 0, &zero, y, Y), BAD_PARAM);
	WANT(cudnnConvolutionForward(h, NULL, x, X, w, W, cd, 0, NULL, 0, &zero, y, Y), BAD_PARAM);
	WANT(cudnnConvolutionForward(NULL, &one, x, X, w, W, cd, 0, NULL, 0, &zero, y, Y), BAD_PARAM);
	sync0();
	/* A tensor that runs past its allocation: the illegal address, sticky. */
	TD big = tensor(1, 2, 8, 8);
	CD cd0 = conv(0, 0, 1, 1, 1, 1, CROSS, FMA);
	FD w1 = filter(2, 2, 1, 1);
	if (cudnnConvolutionForward(h, &one, big, X, w1, W, cd0, 0, NULL, 0, &zero, big, Y) == OK) FAIL("out-of-bounds tensor accepted");
	if (cuStreamSynchronize(NULL) != 700) FAIL("no sticky CUDA_ERROR_ILLEGAL_ADDRESS");
	return 0;
}
`

func dnnDescriptors(t *testing.T, lib string) {
	dnnMustRun(t, dnnProgram(t, lib, "desc", dnnDescriptorsSrc))
}

// Outputs may overlap inputs only where the API reference says so (the
// activations' x == y and dy == dx): in strict mode any other overlap is
// BAD_PARAM at the call; with CUDASIM_STRICT=0 the call is accepted.
const dnnOverlapSrc = `
int main(void) {
	setup();
	int strict = getenv("CUDASIM_STRICT") == NULL || strcmp(getenv("CUDASIM_STRICT"), "0") != 0;
	int want = strict ? BAD_PARAM : OK;
	float one = 1, zero = 0;
	float *v = randv(64);
	void *A = upload(v, 64), *B = upload(v, 64), *G = upload(v, 2), *S = dev(8);
	TD t = tensor(1, 2, 4, 4), p = tensor(1, 2, 1, 1); FD w = filter(2, 2, 1, 1);
	CD cd = conv(0, 0, 1, 1, 1, 1, CROSS, FMA);
	AD ad; CK(cudnnCreateActivationDescriptor(&ad)); CK(cudnnSetActivationDescriptor(ad, RELU, PROP, 0));
	WANT(cudnnConvolutionForward(h, &one, t, A, w, B, cd, 0, NULL, 0, &zero, t, A), want);          /* y == x */
	WANT(cudnnConvolutionForward(h, &one, t, A, w, (float *)A + 28, cd, 0, NULL, 0, &zero, t, B), OK);
	WANT(cudnnConvolutionForward(h, &one, t, A, w, (float *)B + 28, cd, 0, NULL, 0, &zero, t, B), want); /* y overlaps w */
	WANT(cudnnConvolutionBackwardData(h, &one, w, A, t, B, cd, 0, NULL, 0, &zero, t, B), want);     /* dx == dy */
	WANT(cudnnBatchNormalizationBackward(h, SPATIAL, &one, &zero, &one, &zero, t, A, t, B, t, B, p, G, S, (float *)S + 2,
		1e-5, NULL, NULL), want);                                                                 /* dx == dy */
	WANT(cudnnBatchNormalizationForwardTraining(h, SPATIAL, &one, &zero, t, A, t, A, p, G, G, 0.1, NULL, NULL, 1e-5,
		NULL, NULL), want);                                                                       /* y == x */
	WANT(cudnnActivationForward(h, ad, &one, t, A, &zero, t, A), OK);                              /* documented */
	WANT(cudnnActivationForward(h, ad, &one, t, A, &zero, t, (float *)A + 1), want);               /* partial */
	WANT(cudnnActivationBackward(h, ad, &one, t, B, t, A, t, B, &one, t, A), OK);                  /* dx == dy */
	WANT(cudnnActivationBackward(h, ad, &one, t, B, t, A, t, B, &one, t, B), want);                /* dx == y */
	return 0;
}
`

func dnnOverlap(t *testing.T, lib string) {
	exe := dnnProgram(t, lib, "overlap", dnnOverlapSrc)
	dnnMustRun(t, exe)
	dnnMustRun(t, exe, "CUDASIM_STRICT=0")
}
