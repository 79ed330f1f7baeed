package cudasim

import (
	"strings"
	"testing"
)

// TestCUDNNBatchNormEx proves the simulated cudnnBatchNormalizationForwardTrainingEx
// and BackwardEx (cudnn/bnex.c): each bnOps gives, bit for bit, the
// non-extended batch norm, addition and ReLU computed in float on the same
// (widened) values and rounded once to the storage type; the running and
// saved statistics are the non-extended call's; every refusal the simulator
// documents returns its status, from the calls and from the size queries;
// strict mode catches a reserve space or y that is not the forward's.
func TestCUDNNBatchNormEx(t *testing.T) {
	needBuild(t)
	lib := simDir
	exe := dnnProgram(t, lib, "bnexpath", dnnBnexPathSrc)
	for _, c := range []struct{ name, dtype, layout, ops string }{
		{"AddReLUHalfNHWC", "2", "1", "2"}, {"ReLUHalfNHWC", "2", "1", "1"},
		{"BNHalfNHWC", "2", "1", "0"}, {"BNBFloat16NCHW", "9", "0", "0"}, {"BNFloatNCHW", "0", "0", "0"},
	} {
		t.Run(c.name+"MatchesUnfused", func(t *testing.T) {
			out := dnnMustRun(t, exe, "HALF_DTYPE="+c.dtype, "HALF_LAYOUT="+c.layout, "BNEX_OPS="+c.ops)
			t.Log(strings.TrimSpace(out))
		})
	}
	t.Run("Refusals", func(t *testing.T) { dnnMustRun(t, dnnProgram(t, lib, "bnexrules", dnnBnexRulesSrc)) })
	t.Run("StrictReserveSpace", func(t *testing.T) {
		dnnStrictFeeds(t, dnnProgram(t, lib, "bnexstrict", dnnBnexStrictSrc), []strictFeed{
			{"same", "", false, ""},
			{"unwritten", "", true, "was not written by cudnnBatchNormalizationForwardTrainingEx"},
			{"other", "", true, "another layer's reserve space?"},
			{"othery", "", true, "is not the output of the forward that wrote this reserve space"},
			{"unwritten", "0", false, ""},
		})
	})
}

// The prototypes of cudnn_ops.h (cuDNN 9), written with the prelude's types.
const dnnBnexDecls = `
st cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(H, int, int, TD, TD, TD, TD, AD, size_t *);
st cudnnGetBatchNormalizationBackwardExWorkspaceSize(H, int, int, TD, TD, TD, TD, TD, TD, AD, size_t *);
st cudnnGetBatchNormalizationTrainingExReserveSpaceSize(H, int, int, AD, TD, size_t *);
st cudnnBatchNormalizationForwardTrainingEx(H, int, int, const void *, const void *, TD, const void *, TD, const void *,
	TD, void *, TD, const void *, const void *, double, void *, void *, double, void *, void *, AD, void *, size_t, void *, size_t);
st cudnnBatchNormalizationBackwardEx(H, int, int, const void *, const void *, const void *, const void *, TD, const void *,
	TD, const void *, TD, const void *, TD, void *, TD, void *, TD, const void *, const void *, void *, void *, double,
	const void *, const void *, AD, void *, size_t, void *, size_t);
enum { PERSISTENT = 2, OPS_BN = 0, OPS_ACT = 1, OPS_ADD = 2, HALF = 2, BF16 = 9, NHWC = 1 };
`

// The Ex calls on data of type HALF_DTYPE in layout HALF_LAYOUT with bnOps
// BNEX_OPS, against the float NCHW reference: the non-extended forward
// training and backward calls (mode SPATIAL_PERSISTENT, as the fused ops
// need), the addition and ReLU computed here in float, ReLU's derivative
// taken at its float input. y, dx and dz must be the reference's rounded
// once; the statistics and the parameter gradients equal.
const dnnBnexPathSrc = dnnHalfHelpersSrc + dnnBnexDecls + `
static void trial_ex(int trial, int ops) {
	int add = ops == OPS_ADD, fused = ops != OPS_BN;
	int mode = fused ? PERSISTENT : (trial % 2 ? SPATIAL : PER_ACT);
	sh xs = {2 + (int)(urand() * 3), 4 * (1 + (int)(urand() * 3)), 1 + (int)(urand() * 4), 1 + (int)(urand() * 4)};
	if (!fused) xs.c = 1 + (int)(urand() * 5);
	int spatial = mode != PER_ACT;
	sh ps = {1, xs.c, spatial ? 1 : xs.h, spatial ? 1 : xs.w};
	size_t lx = len4(xs), lp = len4(ps);
	el *x = rand16v(lx), *z = rand16v(lx), *dy = rand16v(lx), *y0 = rand16v(lx), *dx0 = rand16v(lx);
	float *g = randv(lp), *b = randv(lp), *rm = randv(lp), *rv = randv(lp), *dg0 = randv(lp), *db0 = randv(lp);
	for (size_t i = 0; i < lp; i++) rv[i] = fabsf(rv[i]) + 0.5f;
	/* BN alone blends as the non-extended calls do; the fused ops take alpha 1, beta 0. */
	float one = 1, zero = 0, alpha = fused ? 1 : (float)(urand() + 0.5), beta = fused || trial % 3 == 0 ? 0 : (float)(urand() - 0.5);
	double eps = 1e-5, factor = 0.1;
	TD pd; CK(cudnnCreateTensorDescriptor(&pd)); CK(cudnnSetTensor4dDescriptor(pd, NCHW, FLOAT, ps.n, ps.c, ps.h, ps.w));
	AD ad; CK(cudnnCreateActivationDescriptor(&ad)); CK(cudnnSetActivationDescriptor(ad, RELU, PROP, 0));
	/* tested side */
	TD xd = tdesc16(xs);
	size_t fws, bws, rsz;
	CK(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, mode, ops, xd, add ? xd : NULL, xd, pd, fused ? ad : NULL, &fws));
	CK(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, mode, ops, xd, fused ? xd : NULL, xd, add ? xd : NULL, xd, pd, fused ? ad : NULL, &bws));
	CK(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, mode, ops, fused ? ad : NULL, xd, &rsz));
	void *FWS = dev(fws / 4 + 1), *BWS = dev(bws / 4 + 1), *RS = dev(rsz / 4 + 1);
	void *X = up16(x, xs), *Z = up16(z, xs), *Y = up16(y0, xs), *DY = up16(dy, xs), *DX = up16(dx0, xs), *DZ = dev(floats(lx));
	void *G = upload(g, lp), *B = upload(b, lp), *RM = upload(rm, lp), *RV = upload(rv, lp), *SM = dev(lp), *SI = dev(lp);
	void *DG = upload(dg0, lp), *DB = upload(db0, lp);
	/* BN alone: every other trial on the fallback (NULL workspace of size 0, no reserve space). */
	int fb = !fused && trial % 2;
	CK(cudnnBatchNormalizationForwardTrainingEx(h, mode, ops, &alpha, &beta, xd, X, add ? xd : NULL, add ? Z : NULL, xd, Y, pd, G, B,
		factor, RM, RV, eps, SM, SI, fused ? ad : NULL, fb ? NULL : FWS, fb ? 0 : fws, fb ? NULL : RS, fb ? 0 : rsz));
	CK(cudnnBatchNormalizationBackwardEx(h, mode, ops, &alpha, &beta, &one, &zero, xd, X, fused ? xd : NULL, fused ? Y : NULL, xd, DY,
		add ? xd : NULL, add ? DZ : NULL, xd, DX, pd, G, B, DG, DB, eps, SM, SI, fused ? ad : NULL, fb ? NULL : BWS, fb ? 0 : bws,
		fb ? NULL : RS, fb ? 0 : rsz));
	/* float reference */
	TD xf = tensor(xs.n, xs.c, xs.h, xs.w);
	float *xw = widev(x, lx), *zw = widev(z, lx), *dyw = widev(dy, lx);
	void *Xf = upload(xw, lx), *Yf = upload(widev(y0, lx), lx), *DXf = upload(widev(dx0, lx), lx);
	void *Gf = upload(g, lp), *Bf = upload(b, lp), *RMf = upload(rm, lp), *RVf = upload(rv, lp), *SMf = dev(lp), *SIf = dev(lp);
	void *DGf = upload(dg0, lp), *DBf = upload(db0, lp);
	float *want = NULL, *dyr = dyw;
	if (fused) {
		void *Bn = dev(lx);
		CK(cudnnBatchNormalizationForwardTraining(h, mode, &one, &zero, xf, Xf, xf, Bn, pd, Gf, Bf, factor, RMf, RVf, eps, SMf, SIf));
		float *bn = download(Bn, lx);
		want = malloc(lx * 4), dyr = malloc(lx * 4);
		for (size_t i = 0; i < lx; i++) {
			float v = add ? bn[i] + zw[i] : bn[i];
			want[i] = v > 0 ? v : 0;
			dyr[i] = v > 0 ? dyw[i] : 0;
		}
	} else {
		CK(cudnnBatchNormalizationForwardTraining(h, mode, &alpha, &beta, xf, Xf, xf, Yf, pd, Gf, Bf, factor, RMf, RVf, eps, SMf, SIf));
		want = download(Yf, lx);
	}
	void *DYf = upload(dyr, lx);
	CK(cudnnBatchNormalizationBackward(h, mode, &alpha, &beta, &one, &zero, xf, Xf, xf, DYf, xf, DXf, pd, Gf, DGf, DBf, eps, SMf, SIf));
	same("y", trial, down16(Y, xs), want, lx);
	same("dx", trial, down16(DX, xs), download(DXf, lx), lx);
	if (add) same("dz", trial, down16(DZ, xs), dyr, lx);
	samef("running mean", trial, download(RM, lp), download(RMf, lp), lp);
	samef("running var", trial, download(RV, lp), download(RVf, lp), lp);
	samef("saved mean", trial, download(SM, lp), download(SMf, lp), lp);
	samef("saved inv", trial, download(SI, lp), download(SIf, lp), lp);
	samef("dscale", trial, download(DG, lp), download(DGf, lp), lp);
	samef("dbias", trial, download(DB, lp), download(DBf, lp), lp);
	if (fused) { /* not all zero, not all through: the ReLU is exercised */
		size_t pos = 0;
		for (size_t i = 0; i < lx; i++) pos += want[i] > 0;
		if (pos == 0 || pos == lx) FAIL("trial %d: %zu of %zu activations positive", trial, pos, lx);
	}
}

int main(void) {
	setup();
	DT = atoi(getenv("HALF_DTYPE")), LAY = atoi(getenv("HALF_LAYOUT")), ES = DT == 0 ? 4 : 2;
	int ops = atoi(getenv("BNEX_OPS"));
	for (int trial = 0; trial < 12; trial++)
		trial_ex(trial, ops);
	printf("dtype %d layout %d bnOps %d: %ld results equal to the unfused float path's, rounded\n", DT, LAY, ops, compared);
	return 0;
}
`

// Every refusal of the Ex calls and their size queries (cudnn/bnex.c's
// header comment), one change at a time from a valid fused call.
const dnnBnexRulesSrc = dnnBnexDecls + `
static TD td(int fmt, int dt, int n, int c, int hh, int w) { TD d; CK(cudnnCreateTensorDescriptor(&d)); CK(cudnnSetTensor4dDescriptor(d, fmt, dt, n, c, hh, w)); return d; }
static AD act(int mode) { AD d; CK(cudnnCreateActivationDescriptor(&d)); CK(cudnnSetActivationDescriptor(d, mode, PROP, 0)); return d; }
int main(void) {
	setup();
	float one = 1, zero = 0, two = 2;
	enum { N = 2, C = 8, HH = 3, W = 3 };
	TD x = td(NHWC, HALF, N, C, HH, W), p = td(NCHW, FLOAT, 1, C, 1, 1);
	TD xnchw = td(NCHW, HALF, N, C, HH, W), xbf = td(NHWC, BF16, N, C, HH, W), xfl = td(NHWC, FLOAT, N, C, HH, W);
	TD x6 = td(NHWC, HALF, N, 6, HH, W), p6 = td(NCHW, FLOAT, 1, 6, 1, 1), xw = td(NHWC, HALF, N, C, HH, W + 1);
	TD ph = td(NCHW, HALF, 1, C, 1, 1), p2 = td(NCHW, FLOAT, 1, C, HH, W), zbf = xbf;
	AD relu = act(RELU), sig = act(SIGMOID), unset; CK(cudnnCreateActivationDescriptor(&unset));
	void *X = dev(1024), *Y = dev(1024), *Z = dev(1024), *DY = dev(1024), *DZ = dev(1024), *DX = dev(1024);
	void *P = dev(64), *Q = dev(64), *R = dev(64), *S = dev(64), *SM = dev(64), *SI = dev(64), *DG = dev(64), *DB = dev(64);
	/* finite data (fresh device memory holds garbage): random halfs in x, z, dy, ones in the parameters */
	uint16_t hv[2048]; float ones[64];
	for (int i = 0; i < 2048; i++) { _Float16 f = (_Float16)(urand() * 4 - 2); memcpy(&hv[i], &f, 2); }
	for (int i = 0; i < 64; i++) ones[i] = 1;
	put(X, (float *)hv, 1024), put(Z, (float *)hv + 7, 1000), put(DY, (float *)hv + 3, 1000);
	put(P, ones, 64), put(Q, ones, 64), put(R, ones, 64), put(S, ones, 64);
	size_t fws, bws, rsz, got;
	CK(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, PERSISTENT, OPS_ADD, x, x, x, p, relu, &fws));
	CK(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, PERSISTENT, OPS_ADD, x, x, x, x, x, p, relu, &bws));
	CK(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, OPS_ADD, relu, x, &rsz));
	if (fws == 0 || bws == 0 || rsz == 0) FAIL("sizes %zu %zu %zu: the simulator asks for every space", fws, bws, rsz);
	size_t rbn;
	CK(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, OPS_BN, NULL, x, &rbn));
	if (rbn >= rsz) FAIL("reserve of BN %zu not below BN_ADD_ACTIVATION's %zu (it keeps no activation bits)", rbn, rsz);
	void *FWS = dev(fws / 4 + 1), *BWS = dev(bws / 4 + 1), *RS = dev(rsz / 4 + 1);

	/* The forward: each case one change from the valid fused call F(...). */
#define F(mode, ops, al, be, xd, xp, zd, zp, yd, yp, pd, rm, rv, eps, sm, si, ad, ws, wss, rs, rss) \
	cudnnBatchNormalizationForwardTrainingEx(h, mode, ops, al, be, xd, xp, zd, zp, yd, yp, pd, P, Q, 0.1, rm, rv, eps, sm, si, ad, ws, wss, rs, rss)
#define FOK(...) F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz)
	WANT(FOK(), OK);
	WANT(F(PERSISTENT, OPS_ACT, &one, &zero, x, X, NULL, NULL, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), OK);
	WANT(F(PERSISTENT, 3, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, -1, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(3, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, NULL, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, unset, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, sig, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(SPATIAL, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(SPATIAL, OPS_ACT, &one, &zero, x, X, NULL, NULL, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), NOT_SUPPORTED);
	/* C a multiple of 4 only for BN_ACTIVATION (the API reference; measured) */
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x6, X, x6, Z, x6, Y, p6, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), OK);
	WANT(F(PERSISTENT, OPS_ACT, &one, &zero, x6, X, NULL, NULL, x6, Y, p6, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, xbf, X, xbf, Z, xbf, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, xfl, X, xfl, Z, xfl, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, xnchw, X, xnchw, Z, xnchw, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, xnchw, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, xnchw, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, NULL, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, NULL, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, xw, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, zbf, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, xw, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &two, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(PERSISTENT, OPS_ADD, &one, &one, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), NOT_SUPPORTED);
	WANT(F(PERSISTENT, OPS_ADD, NULL, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, NULL, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, NULL, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p2, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, ph, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM); /* measured on BackwardEx */
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, NULL, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, NULL, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, -1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, NULL, 0, RS, rsz), NOT_SUPPORTED);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws - 1, RS, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, NULL, rsz), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz - 1), BAD_PARAM);
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, X, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM); /* y = x */
	WANT(F(PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Z, p, R, S, 1e-5, SM, SI, relu, FWS, fws, RS, rsz), BAD_PARAM); /* y = z */
	/* BN alone: the non-extended call's rules (any mode, type, layout, blend), on the fallback or with the spaces. */
	WANT(F(SPATIAL, OPS_BN, &two, &one, xnchw, X, NULL, NULL, xnchw, Y, p, R, S, 1e-5, SM, SI, NULL, NULL, 0, NULL, 0), OK);
	WANT(F(SPATIAL, OPS_BN, &one, &zero, xbf, X, NULL, NULL, xbf, Y, p, R, S, 1e-5, SM, SI, NULL, FWS, fws, RS, rbn), OK);
	WANT(F(SPATIAL, OPS_BN, &one, &zero, xfl, X, NULL, NULL, xfl, Y, p, R, S, 1e-5, SM, SI, NULL, NULL, 8, NULL, 0), BAD_PARAM);
	WANT(F(SPATIAL, OPS_BN, &one, &zero, xfl, X, NULL, NULL, xfl, Y, p, R, S, 1e-5, SM, SI, NULL, FWS, fws, NULL, 0), BAD_PARAM);
	WANT(F(SPATIAL, OPS_BN, &one, &zero, x6, X, NULL, NULL, x6, Y, p6, R, S, 1e-5, SM, SI, NULL, NULL, 0, NULL, 0), OK);

	/* The backward, likewise. */
#define B(mode, ops, ad_, bd, ap, bp, yd, yp, dzd, dzp, bias, sm, si, ad, ws, wss, rs, rss) \
	cudnnBatchNormalizationBackwardEx(h, mode, ops, ad_, bd, ap, bp, x, X, yd, yp, x, DY, dzd, dzp, x, DX, p, P, bias, DG, DB, 1e-5, \
		sm, si, ad, ws, wss, rs, rss)
	/* a forward to make the reserve space valid (strict mode checks it) */
	WANT(FOK(), OK);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), OK);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, NULL, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, NULL, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, NULL, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, NULL, Q, SM, SI, relu, BWS, bws, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, NULL, SM, SI, relu, BWS, bws, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, Q, NULL, NULL, relu, BWS, bws, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, Q, SM, NULL, relu, BWS, bws, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, Q, SM, SI, NULL, BWS, bws, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, Q, SM, SI, sig, BWS, bws, RS, rsz), NOT_SUPPORTED);
	WANT(B(SPATIAL, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), NOT_SUPPORTED);
	WANT(B(PERSISTENT, OPS_ADD, &two, &zero, &one, &zero, x, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), NOT_SUPPORTED);
	WANT(B(PERSISTENT, OPS_ADD, &one, &one, &one, &zero, x, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), NOT_SUPPORTED);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &two, &zero, x, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), NOT_SUPPORTED);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &one, x, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), NOT_SUPPORTED);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, Q, SM, SI, relu, NULL, 0, RS, rsz), NOT_SUPPORTED);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, Q, SM, SI, relu, BWS, bws - 1, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz - 1), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, xnchw, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), NOT_SUPPORTED);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, xw, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, xw, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), NOT_SUPPORTED); /* y's shape */
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, xbf, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), NOT_SUPPORTED); /* y's type */
	WANT(B(PERSISTENT, OPS_ACT, &one, &zero, &one, &zero, x, Y, x, DZ, Q, SM, SI, relu, BWS, bws, RS, rsz), NOT_SUPPORTED); /* dzDesc */
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DZ, Q, SM, SI, unset, BWS, bws, RS, rsz), NOT_SUPPORTED);
	WANT(cudnnBatchNormalizationBackwardEx(h, PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, X, x, Y, x, DY, x, DZ, x, DX, ph, P, Q,
		DG, DB, 1e-5, SM, SI, relu, BWS, bws, RS, rsz), BAD_PARAM); /* a HALF parameter tensor */
	/* BackwardEx checks its arguments before the handle (measured) */
	WANT(cudnnBatchNormalizationBackwardEx(NULL, PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, X, x, Y, x, DY, x, DZ, x, DX, p, P, Q,
		DG, DB, 1e-5, SM, SI, sig, BWS, bws, RS, rsz), NOT_SUPPORTED);
	WANT(cudnnBatchNormalizationBackwardEx(NULL, PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, X, x, Y, x, DY, x, DZ, x, DX, p, P, Q,
		DG, DB, 1e-5, SM, SI, relu, BWS, bws, RS, rsz), BAD_PARAM);
	WANT(B(PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, Y, x, DY, Q, SM, SI, relu, BWS, bws, RS, rsz), BAD_PARAM); /* dz = dy */
	WANT(B(SPATIAL, OPS_BN, &one, &one, &one, &zero, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0), OK);
	WANT(cudnnBatchNormalizationBackwardEx(h, PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, X, x, Y, xbf, DY, x, DZ, x, DX, p, P, Q,
		DG, DB, 1e-5, SM, SI, relu, BWS, bws, RS, rsz), BAD_PARAM); /* dy of another type */
	sync0();

	/* The size queries answer the calls' statuses. */
	WANT(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(NULL, PERSISTENT, OPS_ADD, x, x, x, p, relu, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, PERSISTENT, OPS_ADD, x, x, x, p, relu, NULL), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, PERSISTENT, 3, x, x, x, p, relu, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, SPATIAL, OPS_ADD, x, x, x, p, relu, &got), NOT_SUPPORTED);
	WANT(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, PERSISTENT, OPS_ADD, xnchw, xnchw, xnchw, p, relu, &got), NOT_SUPPORTED);
	WANT(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, PERSISTENT, OPS_ADD, x, NULL, x, p, relu, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, PERSISTENT, OPS_ADD, x, x, x, p, sig, &got), NOT_SUPPORTED);
	WANT(cudnnGetBatchNormalizationBackwardExWorkspaceSize(NULL, PERSISTENT, OPS_ADD, x, x, x, x, x, p, relu, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, PERSISTENT, OPS_ADD, x, x, x, x, x, p, relu, NULL), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, PERSISTENT, OPS_ADD, x, NULL, x, x, x, p, relu, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, PERSISTENT, OPS_ADD, x, x, x, NULL, x, p, relu, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, PERSISTENT, OPS_ADD, xbf, xbf, xbf, xbf, xbf, p, relu, &got), NOT_SUPPORTED);
	WANT(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, PERSISTENT, OPS_ACT, x6, x6, x6, NULL, x6, p6, relu, &got), NOT_SUPPORTED);
	WANT(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, SPATIAL, OPS_BN, xfl, NULL, xfl, NULL, xfl, p, NULL, &got), OK);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(NULL, PERSISTENT, OPS_ADD, relu, x, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, OPS_ADD, relu, x, NULL), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, OPS_ADD, relu, NULL, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, 3, relu, x, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, 3, OPS_ADD, relu, x, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, OPS_ADD, NULL, x, &got), BAD_PARAM);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, OPS_ADD, sig, x, &got), NOT_SUPPORTED);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, SPATIAL, OPS_ADD, relu, x, &got), NOT_SUPPORTED);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, OPS_ADD, relu, xnchw, &got), NOT_SUPPORTED);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, OPS_ADD, relu, xbf, &got), NOT_SUPPORTED);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, OPS_ACT, relu, x6, &got), NOT_SUPPORTED);
	WANT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, SPATIAL, OPS_BN, NULL, xbf, &got), OK);
	return 0;
}
`

// Strict mode: the backward of BN_ADD_ACTIVATION with the reserve space the
// forward wrote (FEED=same), with a zeroed one (unwritten), with the one of
// a forward of another shape (other), and with a y from another forward of
// the same shape (othery).
const dnnBnexStrictSrc = dnnBnexDecls + `
int cuMemsetD32Async(CUdeviceptr, unsigned int, size_t, CUstream);
static void zero_dev(void *p, size_t bytes) { CK(cuMemsetD32Async((CUdeviceptr)(uintptr_t)p, 0, bytes / 4, NULL)); }
static TD td(int fmt, int dt, int n, int c, int hh, int w) { TD d; CK(cudnnCreateTensorDescriptor(&d)); CK(cudnnSetTensor4dDescriptor(d, fmt, dt, n, c, hh, w)); return d; }
int main(void) {
	setup();
	const char *feed = getenv("FEED");
	float one = 1, zero = 0;
	TD x = td(NHWC, HALF, 2, 4, 3, 3), x2 = td(NHWC, HALF, 2, 4, 3, 2), p = td(NCHW, FLOAT, 1, 4, 1, 1);
	AD relu; CK(cudnnCreateActivationDescriptor(&relu)); CK(cudnnSetActivationDescriptor(relu, RELU, PROP, 0));
	size_t fws, bws, rsz;
	CK(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, PERSISTENT, OPS_ADD, x, x, x, p, relu, &fws));
	CK(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, PERSISTENT, OPS_ADD, x, x, x, x, x, p, relu, &bws));
	CK(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, PERSISTENT, OPS_ADD, relu, x, &rsz));
	float v[72], g[4] = {1, 1, 1, 1}, b[4] = {0, 0, 0, 0};
	for (int i = 0; i < 72; i++) v[i] = (float)(urand() * 4 - 2);
	/* half data from float values: 72 halfs = 36 floats of bits */
	uint16_t hv[72]; for (int i = 0; i < 72; i++) { _Float16 f = (_Float16)v[i]; memcpy(&hv[i], &f, 2); }
	void *X = upload((float *)hv, 36), *Z = dev(36), *Y = dev(36), *Y2 = dev(36), *DY = upload((float *)hv, 36), *DZ = dev(36), *DX = dev(36);
	zero_dev(Z, 144);
	void *G = upload(g, 4), *B = upload(b, 4), *SM = dev(4), *SI = dev(4), *DG = dev(4), *DB = dev(4);
	void *FWS = dev(fws / 4 + 1), *BWS = dev(bws / 4 + 1), *RS = dev(rsz / 4 + 1), *RS2 = dev(rsz / 4 + 1);
	zero_dev(RS, (rsz / 4 + 1) * 4);
	if (strcmp(feed, "unwritten") != 0)
		CK(cudnnBatchNormalizationForwardTrainingEx(h, PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, G, B, 0.1, NULL, NULL, 1e-5,
			SM, SI, relu, FWS, fws, RS, rsz));
	else /* the saved statistics still come from a forward: only the reserve space is missing */
		CK(cudnnBatchNormalizationForwardTrainingEx(h, PERSISTENT, OPS_ADD, &one, &zero, x, X, x, Z, x, Y, p, G, B, 0.1, NULL, NULL, 1e-5,
			SM, SI, relu, FWS, fws, RS2, rsz));
	if (strcmp(feed, "other") == 0) /* a forward of another shape overwrites the reserve space */
		CK(cudnnBatchNormalizationForwardTrainingEx(h, PERSISTENT, OPS_ADD, &one, &zero, x2, X, x2, Z, x2, Y2, p, G, B, 0.1, NULL, NULL,
			1e-5, NULL, NULL, relu, FWS, fws, RS, rsz));
	void *YB = Y;
	if (strcmp(feed, "othery") == 0) { /* y of the same shape, other values: x negated */
		for (int i = 0; i < 72; i++) { _Float16 f = (_Float16)-v[i]; memcpy(&hv[i], &f, 2); }
		void *XN = upload((float *)hv, 36);
		CK(cudnnBatchNormalizationForwardTrainingEx(h, PERSISTENT, OPS_ADD, &one, &zero, x, XN, x, Z, x, Y2, p, G, B, 0.1, NULL, NULL,
			1e-5, NULL, NULL, relu, FWS, fws, RS2, rsz));
		YB = Y2;
	}
	CK(cudnnBatchNormalizationBackwardEx(h, PERSISTENT, OPS_ADD, &one, &zero, &one, &zero, x, X, x, YB, x, DY, x, DZ, x, DX, p, G, B,
		DG, DB, 1e-5, SM, SI, relu, BWS, bws, RS, rsz));
	int r = cuStreamSynchronize(NULL);
	printf("sync %d\n", r);
	return 0;
}
`
