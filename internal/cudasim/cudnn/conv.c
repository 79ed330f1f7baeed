/*
 * conv.c: 2-D convolution forward, backward data and backward filter (cuDNN
 * 9 API reference, cudnn_cnn library), computed on float NCHW tensors and
 * KCRS filters; io.c reads and writes the other types and layouts.
 *
 * What the simulator models beyond the plain arithmetic:
 *  - CUDNN_CONVOLUTION flips the kernel, CUDNN_CROSS_CORRELATION does not
 *    (cudnnConvolutionMode_t);
 *  - TF32: an algorithm that runs on tensor cores rounds its two inputs to
 *    TensorFloat-32 (10-bit mantissa, round to nearest, ties away: PTX ISA
 *    cvt.rna.tf32.f32) when the math type permits it — CUDNN_TENSOR_OP_MATH
 *    and its ALLOW_CONVERSION variant, and CUDNN_DEFAULT_MATH, under which
 *    cudnnMathType_t permits Tensor Core TF32 operation from the A100
 *    (compute capability 8.0) on, unless NVIDIA_TF32_OVERRIDE=0 (the
 *    documented switch); CUDNN_FMA_MATH never rounds. TF32 "rounds FP32
 *    inputs to TF32, computes the products without loss of precision, then
 *    accumulates those products into an FP32 output" (NVIDIA, "Accelerating
 *    AI Training with NVIDIA TF32 Tensor Cores");
 *  - FFT, FFT_TILING and WINOGRAD_NONFUSED carry a larger error than FMA's,
 *    a relative perturbation of each output fixed by the seed (find.c, err);
 *  - alpha/beta blending, y = alpha·op + beta·y, with beta == 0 never
 *    reading y ("Scaling Parameters");
 *  - the workspace the chosen algorithm needs (find.c) must be given; the
 *    simulator scribbles over it, since its contents are scratch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"

/* The convolution loops are the simulator's hot spot: let GCC vectorise them
 * (build.sh compiles with -O2). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

/* conv_types: the data type configurations of cudnnConvolutionForward's
 * "Supported Configurations" table (cuDNN 9 API reference, cudnn_cnn
 * library, docs.nvidia.com/deeplearning/cudnn/backend/v9.6.0/api/
 * cudnn-cnn-library.html; the backward calls list the same for their
 * operands), x, w and y of one type (a mismatch is BAD_PARAM, checked
 * before) against the convolution's compute type:
 *   FLOAT_CONFIG            FLOAT data,    FLOAT compute
 *   PSEUDO_HALF_CONFIG      HALF data,     FLOAT compute
 *   PSEUDO_BFLOAT16_CONFIG  BFLOAT16 data, FLOAT compute
 *   TRUE_HALF_CONFIG        HALF data,     HALF compute
 * Any other pairing is not a configuration: NOT_SUPPORTED ("the function
 * does not support the provided configuration"). The simulator computes the
 * first three, in float (the "pseudo" configurations' meaning: half storage,
 * float arithmetic); TRUE_HALF_CONFIG, whose arithmetic is half precision,
 * and the DOUBLE and INT8 configurations are NOT_SUPPORTED here. */
static cudnnStatus_t conv_types(const char *call, int dtype, int compute)
{
	if (compute == CUDNN_DATA_FLOAT && (dtype == CUDNN_DATA_FLOAT || dtype == CUDNN_DATA_HALF || dtype == CUDNN_DATA_BFLOAT16))
		return CUDNN_STATUS_SUCCESS;
	if (dtype == CUDNN_DATA_HALF && compute == CUDNN_DATA_HALF)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "TRUE_HALF_CONFIG (HALF data, HALF compute) is not simulated; "
			"PSEUDO_HALF_CONFIG is HALF data with FLOAT compute");
	return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "%s data with compute type %s is not a configuration the simulator "
		"computes (FLOAT, HALF or BFLOAT16 data with FLOAT compute)", dtype_name(dtype), dtype_name(compute));
}

/* conv_geometry checks the handle (BAD_PARAM if it is not live) and the four
 * descriptors of a convolution the way every
 * cudnn_cnn call documents them and returns its geometry: BAD_PARAM for a
 * descriptor that is not set, mismatched data types, "xDesc and wDesc have a
 * non-matching number of input feature maps", a filter "larger than the
 * input spatial size (including zero-padding size)", or an output whose
 * batch or feature count does not match; NOT_SUPPORTED when "yDesc's
 * spatial sizes do not match with the expected size as determined by
 * cudnnGetConvolutionNdForwardOutputDim()", and for what the simulator does
 * not implement (data other than float, layouts other than NCHW). */
cudnnStatus_t conv_geometry(cudnnHandle_t h, const char *call, cudnnTensorDescriptor_t xd, cudnnFilterDescriptor_t wd,
	cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t yd, convgeom *g)
{
	if (!dnn_handle_ok(h))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live cuDNN handle");
	if (!dnn_tensor_ok(xd) || !dnn_tensor_ok(yd) || !dnn_filter_ok(wd) || !dnn_conv_ok(cd))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a tensor, filter or convolution descriptor is NULL or not set");
	if (xd->dtype != yd->dtype || xd->dtype != wd->dtype)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "data types differ: x %d, w %d, y %d", xd->dtype, wd->dtype, yd->dtype);
	cudnnStatus_t s = conv_types(call, xd->dtype, cd->compute);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (wd->nb != 4 || cd->len != 2)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "the simulator implements 2-d convolutions only (filter of %d dimensions, "
			"convolution of %d)", wd->nb, cd->len);
	convgeom c = {
		.x = tensor_shape(xd), .y = tensor_shape(yd),
		.k = wd->k, .c = wd->c, .r = wd->h, .s = wd->w,
		.pad_h = cd->pad_h, .pad_w = cd->pad_w, .u = cd->u, .v = cd->v, .dil_h = cd->dil_h, .dil_w = cd->dil_w,
		.flip = cd->mode == CUDNN_CONVOLUTION,
	};
	if ((s = tensor_view(call, "x", xd, &c.xv)) != CUDNN_STATUS_SUCCESS || (s = tensor_view(call, "y", yd, &c.yv)) != CUDNN_STATUS_SUCCESS ||
		(s = filter_view(call, wd, &c.wv)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (c.x.c != c.c)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "x has %d feature maps, the filter %d", c.x.c, c.c);
	int eff_r = (c.r - 1) * c.dil_h + 1, eff_s = (c.s - 1) * c.dil_w + 1;
	if (eff_r > c.x.h + 2 * c.pad_h || eff_s > c.x.w + 2 * c.pad_w)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "filter %dx%d (dilated) is larger than the padded input %dx%d",
			c.r, c.s, c.x.h + 2 * c.pad_h, c.x.w + 2 * c.pad_w);
	if (c.y.n != c.x.n || c.y.c != c.k)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "output is (%d,%d,...), expected (%d,%d,...)", c.y.n, c.y.c, c.x.n, c.k);
	/* cudnnGetConvolution2dForwardOutputDim: 1 + (in + 2·pad − ((filter−1)·dilation + 1)) / stride. */
	int ho = 1 + (c.x.h + 2 * c.pad_h - eff_r) / c.u, wo = 1 + (c.x.w + 2 * c.pad_w - eff_s) / c.v;
	if (c.y.h != ho || c.y.w != wo)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "output is %dx%d, the convolution gives %dx%d", c.y.h, c.y.w, ho, wo);
	*g = c;
	return CUDNN_STATUS_SUCCESS;
}

int conv_uses_tf32(int math, const algoinfo *a)
{
	if (!a->tensor_core || math == CUDNN_FMA_MATH)
		return 0;
	if (math == CUDNN_DEFAULT_MATH) {
		const char *o = getenv("NVIDIA_TF32_OVERRIDE");
		return !(o != NULL && strcmp(o, "0") == 0);
	}
	return 1;
}

/* tf32 rounds f to TensorFloat-32: 10 explicit mantissa bits, to nearest with
 * ties away from zero (cvt.rna.tf32.f32); Inf and NaN pass unchanged. */
static float tf32(float f)
{
	uint32_t b;
	memcpy(&b, &f, 4);
	if ((b & 0x7f800000u) != 0x7f800000u) {
		b += 0x1000u;
		b &= 0xffffe000u;
	}
	memcpy(&f, &b, 4);
	return f;
}

/* Index helper: KCRS filters. */
static size_t WAT(const convgeom *g, int k, int c, int r, int s) { return (((size_t)k * g->c + c) * g->r + r) * g->s + s; }

/* The filter tap that meets input offset (r, s): flipped in convolution mode. */
static size_t wtap(const convgeom *g, int k, int c, int r, int s)
{
	if (g->flip)
		return WAT(g, k, c, g->r - 1 - r, g->s - 1 - s);
	return WAT(g, k, c, r, s);
}

/* The outputs o in [*lo, *hi] whose input index o·stride − pad + tap lies in
 * [0, in): the loops below then run without a bounds test per element. */
static void span(int out, int in, int stride, int pad, int tap, int *lo, int *hi)
{
	int a = pad - tap, b = in - 1 + pad - tap; /* o·stride ∈ [a, b] */
	int l = a <= 0 ? 0 : (a + stride - 1) / stride;
	int h = b < 0 ? -1 : b / stride;
	*lo = l, *hi = h < out - 1 ? h : out - 1;
}

/* The kernels work image by image on the im2col matrix (rows c·R·S + r·S + s,
 * columns ho·Wo + wo, zero where the tap reads padding) and the filter as a
 * K × C·R·S matrix with convolution mode's flip applied: three small
 * GEMM-shaped loops whose inner loops run over contiguous memory. Sums are
 * float, in this order (a GPU's order differs, as any two GPUs' do). Each
 * returns 0 when out of host memory. */

static void im2col(const convgeom *g, const float *x, float *col)
{
	size_t hw = (size_t)g->y.h * g->y.w;
	for (int c = 0; c < g->c; c++)
		for (int r = 0; r < g->r; r++) {
			int hlo, hhi;
			span(g->y.h, g->x.h, g->u, g->pad_h, r * g->dil_h, &hlo, &hhi);
			for (int s = 0; s < g->s; s++) {
				float *row = col + ((size_t)(c * g->r + r) * g->s + s) * hw;
				int wlo, whi, off = s * g->dil_w - g->pad_w;
				span(g->y.w, g->x.w, g->v, g->pad_w, s * g->dil_w, &wlo, &whi);
				memset(row, 0, hw * sizeof *row);
				for (int ho = hlo; ho <= hhi; ho++) {
					const float *xi = x + ((size_t)c * g->x.h + ho * g->u - g->pad_h + r * g->dil_h) * g->x.w;
					float *o = row + (size_t)ho * g->y.w;
					for (int wo = wlo; wo <= whi; wo++)
						o[wo] = xi[wo * g->v + off];
				}
			}
		}
}

/* col2im adds the columns back into the image x (the transpose of im2col). */
static void col2im(const convgeom *g, const float *col, float *x)
{
	size_t hw = (size_t)g->y.h * g->y.w;
	for (int c = 0; c < g->c; c++)
		for (int r = 0; r < g->r; r++) {
			int hlo, hhi;
			span(g->y.h, g->x.h, g->u, g->pad_h, r * g->dil_h, &hlo, &hhi);
			for (int s = 0; s < g->s; s++) {
				const float *row = col + ((size_t)(c * g->r + r) * g->s + s) * hw;
				int wlo, whi, off = s * g->dil_w - g->pad_w;
				span(g->y.w, g->x.w, g->v, g->pad_w, s * g->dil_w, &wlo, &whi);
				for (int ho = hlo; ho <= hhi; ho++) {
					float *xi = x + ((size_t)c * g->x.h + ho * g->u - g->pad_h + r * g->dil_h) * g->x.w;
					const float *o = row + (size_t)ho * g->y.w;
					for (int wo = wlo; wo <= whi; wo++)
						xi[wo * g->v + off] += o[wo];
				}
			}
		}
}

/* The filter as a K × C·R·S matrix, flipped in convolution mode. */
static float *wmatrix(const convgeom *g, const float *w)
{
	size_t crs = (size_t)g->c * g->r * g->s;
	float *m = malloc((size_t)g->k * crs * sizeof *m);
	if (m != NULL)
		for (int k = 0; k < g->k; k++)
			for (int c = 0; c < g->c; c++)
				for (int r = 0; r < g->r; r++)
					for (int s = 0; s < g->s; s++)
						m[k * crs + ((size_t)c * g->r + r) * g->s + s] = w[wtap(g, k, c, r, s)];
	return m;
}

/* y[n,k,ho,wo] = Σ_{c,r,s} x[n,c,ho·u−pad+r·dil, wo·v−pad+s·dil] · w[k,c,r,s]. */
static int fwd(const convgeom *g, const float *x, const float *w, float *y)
{
	size_t hw = (size_t)g->y.h * g->y.w, crs = (size_t)g->c * g->r * g->s, img = (size_t)g->c * g->x.h * g->x.w;
	float *col = malloc(crs * hw * sizeof *col), *m = wmatrix(g, w);
	if (col == NULL || m == NULL) {
		free(col), free(m);
		return 0;
	}
	for (int n = 0; n < g->x.n; n++) {
		im2col(g, x + n * img, col);
		for (int k = 0; k < g->k; k++) {
			float *o = y + ((size_t)n * g->k + k) * hw;
			const float *wk = m + k * crs;
			for (size_t i = 0; i < crs; i++) {
				const float wv = wk[i], *ci = col + i * hw;
				for (size_t j = 0; j < hw; j++)
					o[j] += wv * ci[j];
			}
		}
	}
	free(col), free(m);
	return 1;
}

/* dx[n,c,hi,wi] = Σ over the outputs that read x[n,c,hi,wi] of dy · w. */
static int bwd_data(const convgeom *g, const float *dy, const float *w, float *dx)
{
	size_t hw = (size_t)g->y.h * g->y.w, crs = (size_t)g->c * g->r * g->s, img = (size_t)g->c * g->x.h * g->x.w;
	float *col = malloc(crs * hw * sizeof *col), *m = wmatrix(g, w);
	if (col == NULL || m == NULL) {
		free(col), free(m);
		return 0;
	}
	for (int n = 0; n < g->x.n; n++) {
		memset(col, 0, crs * hw * sizeof *col);
		for (int k = 0; k < g->k; k++) {
			const float *d = dy + ((size_t)n * g->k + k) * hw, *wk = m + k * crs;
			for (size_t i = 0; i < crs; i++) {
				const float wv = wk[i];
				float *ci = col + i * hw;
				for (size_t j = 0; j < hw; j++)
					ci[j] += wv * d[j];
			}
		}
		col2im(g, col, dx + n * img);
	}
	free(col), free(m);
	return 1;
}

/* dw[k,c,r,s] = Σ_{n,ho,wo} dy[n,k,ho,wo] · x[n,c,hi,wi]. */
static int bwd_filter(const convgeom *g, const float *x, const float *dy, float *dw)
{
	size_t hw = (size_t)g->y.h * g->y.w, crs = (size_t)g->c * g->r * g->s, img = (size_t)g->c * g->x.h * g->x.w;
	float *col = malloc(crs * hw * sizeof *col), *m = calloc((size_t)g->k * crs, sizeof *m);
	if (col == NULL || m == NULL) {
		free(col), free(m);
		return 0;
	}
	for (int n = 0; n < g->x.n; n++) {
		im2col(g, x + n * img, col);
		for (int k = 0; k < g->k; k++) {
			const float *d = dy + ((size_t)n * g->k + k) * hw;
			for (size_t i = 0; i < crs; i++) {
				/* Eight partial sums: a dot product the compiler can vectorise. */
				const float *ci = col + i * hw;
				float acc[8] = {0};
				size_t j = 0;
				for (; j + 8 <= hw; j += 8)
					for (int l = 0; l < 8; l++)
						acc[l] += d[j + l] * ci[j + l];
				for (; j < hw; j++)
					acc[0] += d[j] * ci[j];
				m[k * crs + i] += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
			}
		}
	}
	for (int k = 0; k < g->k; k++)
		for (int c = 0; c < g->c; c++)
			for (int r = 0; r < g->r; r++)
				for (int s = 0; s < g->s; s++)
					dw[wtap(g, k, c, r, s)] = m[k * crs + ((size_t)c * g->r + r) * g->s + s];
	free(col), free(m);
	return 1;
}

void conv_views(int dir, const convgeom *g, const tview **a, const tview **b, const tview **out)
{
	switch (dir) {
	case DIR_FWD: *a = &g->xv, *b = &g->wv, *out = &g->yv; break;        /* x, w → y */
	case DIR_BWD_DATA: *a = &g->wv, *b = &g->yv, *out = &g->xv; break;   /* w, dy → dx */
	default: *a = &g->xv, *b = &g->yv, *out = &g->wv; break;             /* x, dy → dw */
	}
}

typedef struct {
	const char *call;
	int dir, algo, tf32;
	float err;
	convgeom g;
	const void *a, *b, *ws;
	void *out;
	size_t ws_need;
	float alpha, beta;
} convtask;

/* Models an algorithm's extra error: each output moves by up to err of its
 * own size plus the mean size, with a sign and size fixed by the seed. */
static void perturb(float *v, size_t n, float err, uint64_t key)
{
	double mean = 0;
	for (size_t i = 0; i < n; i++)
		mean += fabs(v[i]);
	mean /= n ? n : 1;
	for (size_t i = 0; i < n; i++) {
		double u = (double)(dnn_rand(key ^ (i * 0x100000001b3ull)) >> 11) / 9007199254740992.0 * 2 - 1;
		v[i] += (float)(err * u * (fabs(v[i]) + mean));
	}
}

static void run_conv(void *arg)
{
	convtask *t = arg;
	const tview *va, *vb, *vo;
	conv_views(t->dir, &t->g, &va, &vb, &vo);
	size_t la = view_len(va), lb = view_len(vb), lo = view_len(vo);
	/* Widened to packed float NCHW and KCRS: half and bfloat16 products
	 * are exact in float, the sums are float (the PSEUDO configurations). */
	float *oa = NULL, *ob = NULL, *tmp = NULL;
	const float *a = view_read(t->a, va, t->call, &oa), *b = a ? view_read(t->b, vb, t->call, &ob) : NULL;
	if (a == NULL || b == NULL)
		goto out; /* the core has recorded the illegal address */
	if (t->tf32) { /* float data only, read in place: round copies */
		float *ra = malloc((la ? la : 1) * sizeof *ra), *rb = malloc((lb ? lb : 1) * sizeof *rb);
		if (ra == NULL || rb == NULL) {
			free(ra), free(rb);
			cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, t->call, "out of host memory for TF32 copies");
			goto out;
		}
		for (size_t i = 0; i < la; i++)
			ra[i] = tf32(a[i]);
		for (size_t i = 0; i < lb; i++)
			rb[i] = tf32(b[i]);
		free(oa), free(ob);
		a = oa = ra, b = ob = rb;
	}
	tmp = calloc(lo ? lo : 1, sizeof *tmp);
	if (tmp == NULL) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, t->call, "out of host memory for %zu floats", lo);
		goto out;
	}
	int ok;
	switch (t->dir) {
	case DIR_FWD: ok = fwd(&t->g, a, b, tmp); break;
	case DIR_BWD_DATA: ok = bwd_data(&t->g, b, a, tmp); break;
	default: ok = bwd_filter(&t->g, a, b, tmp); break;
	}
	if (!ok) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, t->call, "out of host memory for the im2col matrix");
		goto out;
	}
	if (t->err > 0)
		perturb(tmp, lo, t->err, ((uint64_t)t->dir << 8 | (uint64_t)t->algo) * 0x9e3779b97f4a7c15ull);
	if (!view_scatter(t->out, vo, tmp, t->alpha, t->beta, t->call))
		goto out;
	if (t->ws_need > 0) {
		/* Scratch is scratch: leave NaN in (the start of) what was used. */
		size_t n = t->ws_need < 65536 ? t->ws_need : 65536;
		unsigned char *w = cudasim_host((cudasim_devptr)(uintptr_t)t->ws, n, t->call);
		if (w != NULL)
			memset(w, 0xff, n);
	}
out:
	free(tmp), free(oa), free(ob);
}

cudnnStatus_t conv_enqueue(cudnnHandle_t h, const char *call, int dir, int algo, const convgeom *g, int math,
	const void *a, const void *b, void *out, float alpha, float beta, const void *ws, size_t ws_need)
{
	algoinfo ai = algo_info(dir, algo, g);
	convtask *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (convtask){
		.call = call, .dir = dir, .algo = algo, .tf32 = g->xv.dtype == CUDNN_DATA_FLOAT && conv_uses_tf32(math, &ai), .err = ai.err, .g = *g,
		.a = a, .b = b, .ws = ws, .out = out, .ws_need = ws_need, .alpha = alpha, .beta = beta,
	};
	return dnn_enqueue(h, call, run_conv, t);
}

/* The checks common to the three calls, after the descriptors: NULL data or
 * scaling pointers are BAD_PARAM; the algorithm must be an enumerant
 * (BAD_PARAM) that supports the geometry (NOT_SUPPORTED, "the chosen algo
 * does not support the parameters provided"); the workspace must hold what
 * the algorithm needs (BAD_PARAM: the simulator's reading of "workSpace ...
 * of the size workSpaceSizeInBytes", where a GPU would read past its end);
 * every device range must be live (cudasim_check, illegal address); and, in
 * strict mode, the output and the workspace must not overlap the inputs or
 * each other (no convolution is documented to run in place). */
static cudnnStatus_t run(cudnnHandle_t h, const char *call, int dir, const convgeom *g, int math, int algo,
	const void *alpha, const void *a, const void *b, const void *beta, void *out, void *ws, size_t ws_size)
{
	if (alpha == NULL || beta == NULL || a == NULL || b == NULL || out == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a data or scaling pointer is NULL");
	algoinfo ai = algo_info(dir, algo, g);
	if (ai.status == CUDNN_STATUS_BAD_PARAM)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "algorithm %d is not an enumerant", algo);
	if (ai.status != CUDNN_STATUS_SUCCESS)
		return dnn_err(ai.status, call, "algorithm %d does not support this convolution", algo);
	if (ws_size < ai.workspace || (ai.workspace > 0 && ws == NULL))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "algorithm %d needs a %zu-byte workspace, given %zu bytes at %p",
			algo, ai.workspace, ws_size, ws);
	const tview *va, *vb, *vo;
	conv_views(dir, g, &va, &vb, &vo);
	static const char *names[3][3] = {{"x", "w", "y"}, {"w", "dy", "dx"}, {"x", "dy", "dw"}};
	const char **nm = names[dir];
	cudnnStatus_t s = dnn_no_overlap_views(call, nm[2], out, vo, nm[0], a, va);
	if (s == CUDNN_STATUS_SUCCESS)
		s = dnn_no_overlap_views(call, nm[2], out, vo, nm[1], b, vb);
	if (s == CUDNN_STATUS_SUCCESS && ws != NULL && ws_size > 0) {
		s = dnn_no_overlap_bytes(call, "workSpace", ws, ws_size, nm[0], a, view_bytes(va));
		if (s == CUDNN_STATUS_SUCCESS)
			s = dnn_no_overlap_bytes(call, "workSpace", ws, ws_size, nm[1], b, view_bytes(vb));
		if (s == CUDNN_STATUS_SUCCESS)
			s = dnn_no_overlap_bytes(call, "workSpace", ws, ws_size, nm[2], out, view_bytes(vo));
	}
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (!view_check(a, va, call) || !view_check(b, vb, call) || !view_check(out, vo, call))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	if (ws != NULL && ws_size > 0 && !cudasim_check((cudasim_devptr)(uintptr_t)ws, ws_size, call))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "the %zu-byte workspace is not inside one live allocation", ws_size);
	return conv_enqueue(h, call, dir, algo, g, math, a, b, out, *(const float *)alpha, *(const float *)beta, ws, ai.workspace);
}

/* cudnnConvolutionForward(): "executes convolutions or cross-correlations
 * over x using filters specified with w, returning results in y. Scaling
 * factors alpha and beta can be used to scale the input tensor and the
 * output tensor respectively": y = alpha·conv(x, w) + beta·y. */
DNN_API cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd, const void *x,
	cudnnFilterDescriptor_t wd, const void *w, cudnnConvolutionDescriptor_t cd, int algo, void *ws, size_t ws_size,
	const void *beta, cudnnTensorDescriptor_t yd, void *y)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnConvolutionForward";
	convgeom g;
	cudnnStatus_t s = conv_geometry(h, call, xd, wd, cd, yd, &g);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	return run(h, call, DIR_FWD, &g, cd->math, algo, alpha, x, w, beta, y, ws, ws_size);
}

/* cudnnConvolutionBackwardData(): "computes the convolution data gradient of
 * the tensor dy, where y is the output of the forward convolution", dx =
 * alpha·gradient + beta·dx. */
DNN_API cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void *alpha, cudnnFilterDescriptor_t wd, const void *w,
	cudnnTensorDescriptor_t dyd, const void *dy, cudnnConvolutionDescriptor_t cd, int algo, void *ws, size_t ws_size,
	const void *beta, cudnnTensorDescriptor_t dxd, void *dx)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnConvolutionBackwardData";
	convgeom g;
	cudnnStatus_t s = conv_geometry(h, call, dxd, wd, cd, dyd, &g);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	return run(h, call, DIR_BWD_DATA, &g, cd->math, algo, alpha, w, dy, beta, dx, ws, ws_size);
}

/* cudnnConvolutionBackwardFilter(): "computes the convolution weight (filter)
 * gradient of the tensor dy, where y is the output of the forward
 * convolution", dw = alpha·gradient + beta·dw. */
DNN_API cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd, const void *x,
	cudnnTensorDescriptor_t dyd, const void *dy, cudnnConvolutionDescriptor_t cd, int algo, void *ws, size_t ws_size,
	const void *beta, cudnnFilterDescriptor_t dwd, void *dw)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnConvolutionBackwardFilter";
	convgeom g;
	cudnnStatus_t s = conv_geometry(h, call, xd, dwd, cd, dyd, &g);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	return run(h, call, DIR_BWD_FILTER, &g, cd->math, algo, alpha, x, dy, beta, dw, ws, ws_size);
}
