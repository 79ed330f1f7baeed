/*
 * batchnorm.c: batch normalization forward training, forward inference and
 * backward (cuDNN 9 API reference, cudnn_ops library), spatial and
 * per-activation modes; x, y, dx and dy FLOAT, HALF or BFLOAT16 in packed
 * NCHW or NHWC (io.c widens them and rounds the results), the parameters and
 * statistics FLOAT.
 *
 * In strict mode, an output overlapping its input (y and x, dx and x or dy)
 * is BAD_PARAM: the API reference documents no in-place batch norm.
 *
 * Strict mode (cudasim_strict) adds one check a GPU cannot make: the
 * backward pass's savedMean/savedInvVariance must be the statistics of its x
 * — the batch mean and 1/sqrt(biased variance + epsilon) — since cuDNN
 * documents them as the forward pass's cache and requires that "the layer's
 * x and bnScale data have to remain unchanged until this backward function
 * is called". A GPU uses whatever it is given; the simulator recomputes the
 * statistics from x and fails the stream, naming the likely mistake (the
 * variance passed where cuDNN wants the inverse standard deviation).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"

static size_t at(bnlayout l, int n, int p, int j) { return ((size_t)n * l.p + p) * l.j + j; }

/* bn_layout validates the descriptors as each BN call documents: BAD_PARAM
 * when "the number of xDesc or yDesc tensor descriptor dimensions is not
 * within the range of [4,5]" (a 4-d descriptor is the only kind here),
 * "bnScaleBiasMeanVarDesc dimensions are not 1xCx1x1 ... for spatial, and
 * are not 1xCxHxW ... for per-activation mode", or "dimensions or data types
 * mismatch for xDesc, yDesc"; NOT_SUPPORTED, "the function does not support
 * the provided configuration", for a parameter tensor whose type is not the
 * configuration's. The configurations (cudnnBatchNormalizationForwardTraining,
 * ForwardInference and Backward in the cuDNN 9 API reference, cudnn_ops
 * library, docs.nvidia.com/deeplearning/cudnn/backend/v9.6.0/api/
 * cudnn-ops-library.html): PSEUDO_HALF_CONFIG (x, y HALF; bnScale, bnBias,
 * means and variances FLOAT; alpha, beta float), PSEUDO_BFLOAT16_CONFIG
 * (the same with BFLOAT16), FLOAT_CONFIG and DOUBLE_CONFIG — what
 * cudnnDeriveBNTensorDescriptor derives: FLOAT for every x but DOUBLE. The
 * simulator does not compute DOUBLE (NOT_SUPPORTED) nor layouts other than
 * packed NCHW and NHWC (io.c). */
cudnnStatus_t bn_layout(const char *call, int mode, cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t yd,
	cudnnTensorDescriptor_t pd, bnlayout *l, tview *xv, tview *yv)
{
	if (!dnn_tensor_ok(xd) || !dnn_tensor_ok(yd) || !dnn_tensor_ok(pd))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a tensor descriptor is NULL or not set");
	if (mode != CUDNN_BATCHNORM_PER_ACTIVATION && mode != CUDNN_BATCHNORM_SPATIAL && mode != CUDNN_BATCHNORM_SPATIAL_PERSISTENT)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "mode %d is not an enumerant", mode);
	shape4 x = tensor_shape(xd), y = tensor_shape(yd), p = tensor_shape(pd);
	if (x.n != y.n || x.c != y.c || x.h != y.h || x.w != y.w || xd->dtype != yd->dtype)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "x (%d,%d,%d,%d; %s) and y (%d,%d,%d,%d; %s) differ",
			x.n, x.c, x.h, x.w, dtype_name(xd->dtype), y.n, y.c, y.h, y.w, dtype_name(yd->dtype));
	int spatial = mode != CUDNN_BATCHNORM_PER_ACTIVATION;
	if (p.n != 1 || p.c != x.c || (spatial ? (p.h != 1 || p.w != 1) : (p.h != x.h || p.w != x.w)))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "parameter tensor (%d,%d,%d,%d) is not 1x%dx%s", p.n, p.c, p.h, p.w,
			x.c, spatial ? "1x1" : "HxW");
	int want = xd->dtype == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
	if (pd->dtype != want)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "the parameter tensor is %s; %s x takes %s parameters "
			"(cudnnDeriveBNTensorDescriptor's type)", dtype_name(pd->dtype), dtype_name(xd->dtype), dtype_name(want));
	tview pv;
	cudnnStatus_t s;
	if ((s = tensor_view(call, "x", xd, xv)) != CUDNN_STATUS_SUCCESS || (s = tensor_view(call, "y", yd, yv)) != CUDNN_STATUS_SUCCESS ||
		(s = tensor_view(call, "bnScaleBiasMeanVar", pd, &pv)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (!view_nchw(&pv))
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "the simulator takes a packed NCHW parameter tensor only");
	*l = spatial ? (bnlayout){x.n, x.c, x.h * x.w} : (bnlayout){x.n, x.c * x.h * x.w, 1};
	return CUDNN_STATUS_SUCCESS;
}

/* ---- strict mode: the saved statistics must be x's ---- */

/* saved_match recomputes the batch statistics of x and compares them with
 * what the backward pass was given, within float rounding of a differently
 * ordered sum (so statistics computed elsewhere, correctly, pass). */
int bn_saved_match(const char *call, bnlayout l, const float *x, const float *sm, const float *si, double eps)
{
	size_t m = (size_t)l.n * l.j;
	for (int p = 0; p < l.p; p++) {
		double s = 0, ss = 0;
		for (int n = 0; n < l.n; n++)
			for (int j = 0; j < l.j; j++)
				s += x[at(l, n, p, j)];
		double mu = s / m;
		for (int n = 0; n < l.n; n++)
			for (int j = 0; j < l.j; j++) {
				double d = x[at(l, n, p, j)] - mu;
				ss += d * d;
			}
		double var = ss / m, is = 1 / sqrt(var + eps), sd = sqrt(var);
		int mean_ok = fabs(sm[p] - mu) <= 1e-4 * (fabs(mu) + sd) + 1e-6;
		int inv_ok = fabs(si[p] - is) <= 1e-4 * is;
		if (mean_ok && inv_ok)
			continue;
		if (mean_ok && (fabs(si[p] - var) <= 1e-4 * var + 1e-7 || fabs(si[p] - (var + eps)) <= 1e-4 * (var + eps)))
			cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call,
				"savedInvVariance[%d] = %g is the batch variance of x; cuDNN wants the inverse standard deviation "
				"1/sqrt(var+epsilon) = %g, what cudnnBatchNormalizationForwardTraining wrote to resultSaveInvVariance",
				p, si[p], is);
		else
			cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call,
				"savedMean[%d] = %g, savedInvVariance[%d] = %g are not the statistics of x (mean %g, "
				"1/sqrt(var+epsilon) = %g with epsilon %g): x changed since the forward pass, the buffers are "
				"another layer's or swapped, or epsilon differs from the forward's", p, sm[p], p, si[p], mu, is, eps);
		return 0;
	}
	return 1;
}

/* ---- forward training ---- */

/* bn_forward normalises x (packed float, layout l) into out with the
 * batch's statistics, which it returns per statistic: mean, inv =
 * 1/sqrt(biased variance + eps), and the unbiased variance varu. */
void bn_forward(bnlayout l, const float *x, const float *g, const float *b, double eps, float *out, float *mean, float *inv,
	float *varu)
{
	size_t m = (size_t)l.n * l.j;
	for (int p = 0; p < l.p; p++) {
		double s = 0, ss = 0;
		for (int n = 0; n < l.n; n++)
			for (int j = 0; j < l.j; j++)
				s += x[at(l, n, p, j)];
		double mu = s / m;
		for (int n = 0; n < l.n; n++)
			for (int j = 0; j < l.j; j++) {
				double d = x[at(l, n, p, j)] - mu;
				ss += d * d;
			}
		double vb = ss / m, is = 1 / sqrt(vb + eps);
		mean[p] = (float)mu, inv[p] = (float)is;
		/* The running variance uses the unbiased estimate (cuDNN: "the
		 * sample variance", as PyTorch relies on); one element has none. */
		varu[p] = (float)(m > 1 ? ss / (m - 1) : vb);
		for (int n = 0; n < l.n; n++)
			for (int j = 0; j < l.j; j++) {
				size_t i = at(l, n, p, j);
				out[i] = (float)(g[p] * ((x[i] - mu) * is) + b[p]);
			}
	}
}

/* bn_update folds the batch statistics into the running ones (rm and rv NULL:
 * none) and saves mean and inv (sm and si NULL: not saved). */
void bn_update(bnlayout l, double factor, const float *mean, const float *inv, const float *varu, float *rm, float *rv,
	float *sm, float *si)
{
	/* "runningMean = runningMean*(1-factor) + newMean*factor", likewise the
	 * variance (exponentialAverageFactor). */
	if (rm != NULL)
		for (int p = 0; p < l.p; p++) {
			rm[p] = (float)((1 - factor) * rm[p] + factor * mean[p]);
			rv[p] = (float)((1 - factor) * rv[p] + factor * varu[p]);
		}
	if (sm != NULL) {
		memcpy(sm, mean, l.p * sizeof *sm);
		memcpy(si, inv, l.p * sizeof *si);
	}
}

typedef struct {
	bnlayout l;
	tview xv, yv;
	float alpha, beta;
	double factor, eps;
	const void *x, *scale, *bias;
	void *y, *rmean, *rvar, *smean, *sinv;
} bnfwd;

static void run_bn_fwd_train(void *arg)
{
	const char *call = "cudnnBatchNormalizationForwardTraining";
	bnfwd *t = arg;
	bnlayout l = t->l;
	size_t len = (size_t)l.n * l.p * l.j;
	const float *g = dnn_host(t->scale, l.p, call), *b = dnn_host(t->bias, l.p, call);
	float *rm = t->rmean ? dnn_host(t->rmean, l.p, call) : NULL, *rv = t->rvar ? dnn_host(t->rvar, l.p, call) : NULL;
	float *sm = t->smean ? dnn_host(t->smean, l.p, call) : NULL, *si = t->sinv ? dnn_host(t->sinv, l.p, call) : NULL;
	if (!g || !b || (t->rmean && !rm) || (t->rvar && !rv) || (t->smean && !sm) || (t->sinv && !si))
		return;
	float *ox;
	const float *x = view_read(t->x, &t->xv, call, &ox);
	if (x == NULL)
		return;
	float *mean = malloc(l.p * sizeof *mean), *inv = malloc(l.p * sizeof *inv);
	float *varu = malloc(l.p * sizeof *varu), *out = malloc(len * sizeof *out);
	if (!mean || !inv || !varu || !out) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "out of host memory");
		goto done;
	}
	bn_forward(l, x, g, b, t->eps, out, mean, inv, varu);
	if (!view_scatter(t->y, &t->yv, out, t->alpha, t->beta, call))
		goto done;
	bn_update(l, t->factor, mean, inv, varu, rm, rv, sm, si);
done:
	free(ox), free(mean), free(inv), free(varu), free(out);
}

/* cudnnBatchNormalizationForwardTraining(): y = alpha·(scale·(x−mean)/
 * sqrt(var+epsilon) + bias) + beta·y with the batch's mean and biased
 * variance; resultSaveMean and resultSaveInvVariance receive the mean and
 * 1/sqrt(var+epsilon) ("optional cache ... both NULL or both non-NULL");
 * resultRunningMean/Variance ("can be NULL but only at the same time") are
 * updated with exponentialAverageFactor. BAD_PARAM: "one of the pointers
 * alpha, beta, x, y, bnScale, bnBias is NULL", exactly one of a pair NULL,
 * "epsilon value is less than CUDNN_BN_MIN_EPSILON", the descriptor checks
 * of bn_layout. */
DNN_API cudnnStatus_t cudnnBatchNormalizationForwardTraining(cudnnHandle_t h, int mode, const void *alpha, const void *beta,
	cudnnTensorDescriptor_t xd, const void *x, cudnnTensorDescriptor_t yd, void *y, cudnnTensorDescriptor_t pd,
	const void *scale, const void *bias, double factor, void *rmean, void *rvar, double eps, void *smean, void *sinv)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnBatchNormalizationForwardTraining";
	if (!dnn_handle_ok(h))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live cuDNN handle");
	bnlayout l;
	tview xv, yv;
	cudnnStatus_t s = bn_layout(call, mode, xd, yd, pd, &l, &xv, &yv);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (!alpha || !beta || !x || !y || !scale || !bias)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "alpha, beta, x, y, bnScale or bnBias is NULL");
	if ((smean == NULL) != (sinv == NULL))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "exactly one of resultSaveMean, resultSaveInvVariance is NULL");
	if ((rmean == NULL) != (rvar == NULL))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "exactly one of resultRunningMean, resultRunningVariance is NULL");
	if (!(eps >= CUDNN_BN_MIN_EPSILON))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "epsilon %g is less than CUDNN_BN_MIN_EPSILON (%g)", eps, CUDNN_BN_MIN_EPSILON);
	if ((s = dnn_no_overlap_views(call, "y", y, &yv, "x", x, &xv)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (!view_check(x, &xv, call) || !view_check(y, &yv, call) || !dnn_check(scale, l.p, call) || !dnn_check(bias, l.p, call) ||
		(rmean && (!dnn_check(rmean, l.p, call) || !dnn_check(rvar, l.p, call))) ||
		(smean && (!dnn_check(smean, l.p, call) || !dnn_check(sinv, l.p, call))))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	bnfwd *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (bnfwd){.l = l, .xv = xv, .yv = yv, .alpha = *(const float *)alpha, .beta = *(const float *)beta, .factor = factor, .eps = eps,
		.x = x, .scale = scale, .bias = bias, .y = y, .rmean = rmean, .rvar = rvar, .smean = smean, .sinv = sinv};
	return dnn_enqueue(h, call, run_bn_fwd_train, t);
}

/* ---- forward inference ---- */

static void run_bn_fwd_infer(void *arg)
{
	const char *call = "cudnnBatchNormalizationForwardInference";
	bnfwd *t = arg;
	bnlayout l = t->l;
	size_t len = (size_t)l.n * l.p * l.j;
	const float *g = dnn_host(t->scale, l.p, call), *b = dnn_host(t->bias, l.p, call);
	const float *em = dnn_host(t->rmean, l.p, call), *ev = dnn_host(t->rvar, l.p, call);
	if (!g || !b || !em || !ev)
		return;
	float *ox;
	const float *x = view_read(t->x, &t->xv, call, &ox);
	if (x == NULL)
		return;
	float *out = malloc(len * sizeof *out);
	if (out == NULL) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "out of host memory");
		free(ox);
		return;
	}
	for (int p = 0; p < l.p; p++) {
		double is = 1 / sqrt((double)ev[p] + t->eps);
		for (int n = 0; n < l.n; n++)
			for (int j = 0; j < l.j; j++) {
				size_t i = at(l, n, p, j);
				out[i] = (float)(g[p] * ((x[i] - (double)em[p]) * is) + b[p]);
			}
	}
	view_scatter(t->y, &t->yv, out, t->alpha, t->beta, call);
	free(ox), free(out);
}

/* cudnnBatchNormalizationForwardInference(): y = alpha·(scale·(x −
 * estimatedMean)/sqrt(estimatedVariance + epsilon) + bias) + beta·y.
 * BAD_PARAM: "one of the pointers alpha, beta, x, y, bnScale, bnBias,
 * estimatedMean, estimatedInvVariance is NULL", epsilon below
 * CUDNN_BN_MIN_EPSILON, the descriptor checks of bn_layout. */
DNN_API cudnnStatus_t cudnnBatchNormalizationForwardInference(cudnnHandle_t h, int mode, const void *alpha, const void *beta,
	cudnnTensorDescriptor_t xd, const void *x, cudnnTensorDescriptor_t yd, void *y, cudnnTensorDescriptor_t pd,
	const void *scale, const void *bias, const void *emean, const void *evar, double eps)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnBatchNormalizationForwardInference";
	if (!dnn_handle_ok(h))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live cuDNN handle");
	bnlayout l;
	tview xv, yv;
	cudnnStatus_t s = bn_layout(call, mode, xd, yd, pd, &l, &xv, &yv);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (!alpha || !beta || !x || !y || !scale || !bias || !emean || !evar)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "alpha, beta, x, y, bnScale, bnBias, estimatedMean or estimatedVariance is NULL");
	if (!(eps >= CUDNN_BN_MIN_EPSILON))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "epsilon %g is less than CUDNN_BN_MIN_EPSILON (%g)", eps, CUDNN_BN_MIN_EPSILON);
	if ((s = dnn_no_overlap_views(call, "y", y, &yv, "x", x, &xv)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (!view_check(x, &xv, call) || !view_check(y, &yv, call) || !dnn_check(scale, l.p, call) || !dnn_check(bias, l.p, call) ||
		!dnn_check(emean, l.p, call) || !dnn_check(evar, l.p, call))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	bnfwd *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (bnfwd){.l = l, .xv = xv, .yv = yv, .alpha = *(const float *)alpha, .beta = *(const float *)beta, .eps = eps,
		.x = x, .scale = scale, .bias = bias, .y = y, .rmean = (void *)emean, .rvar = (void *)evar};
	return dnn_enqueue(h, call, run_bn_fwd_infer, t);
}

/* ---- backward ---- */

/* bn_backward: gx (the gradient of x), gg and gb (of scale and bias) from
 * dy, x and the saved statistics sm, si (NULL: recomputed from x). */
void bn_backward(bnlayout l, const float *x, const float *dy, const float *g, const float *sm, const float *si, double eps,
	float *gx, float *gg, float *gb)
{
	size_t m = (size_t)l.n * l.j;
	for (int p = 0; p < l.p; p++) {
		double mu, is;
		if (sm != NULL) {
			mu = sm[p], is = si[p];
		} else {
			/* "Both parameters can be NULL but only at the same time":
			 * the statistics are then recomputed from x with epsilon. */
			double s = 0, ss = 0;
			for (int n = 0; n < l.n; n++)
				for (int j = 0; j < l.j; j++)
					s += x[at(l, n, p, j)];
			mu = s / m;
			for (int n = 0; n < l.n; n++)
				for (int j = 0; j < l.j; j++) {
					double d = x[at(l, n, p, j)] - mu;
					ss += d * d;
				}
			is = 1 / sqrt(ss / m + eps);
		}
		double sdy = 0, sdyx = 0;
		for (int n = 0; n < l.n; n++)
			for (int j = 0; j < l.j; j++) {
				size_t i = at(l, n, p, j);
				sdy += dy[i];
				sdyx += dy[i] * ((x[i] - mu) * is);
			}
		gb[p] = (float)sdy, gg[p] = (float)sdyx;
		/* dx = scale·invstd/m · (m·dy − Σdy − x̂·Σ(dy·x̂)). */
		double c = g[p] * is / m;
		for (int n = 0; n < l.n; n++)
			for (int j = 0; j < l.j; j++) {
				size_t i = at(l, n, p, j);
				gx[i] = (float)(c * (m * (double)dy[i] - sdy - ((x[i] - mu) * is) * sdyx));
			}
	}
}

typedef struct {
	bnlayout l;
	tview xv, dyv, dxv;
	float ad, bd, ap, bp;
	double eps;
	const void *x, *dy, *scale, *smean, *sinv;
	void *dx, *dscale, *dbias;
} bnbwd;

static void run_bn_bwd(void *arg)
{
	const char *call = "cudnnBatchNormalizationBackward";
	bnbwd *t = arg;
	bnlayout l = t->l;
	size_t len = (size_t)l.n * l.p * l.j;
	const float *g = dnn_host(t->scale, l.p, call);
	float *dg = dnn_host(t->dscale, l.p, call), *db = dnn_host(t->dbias, l.p, call);
	const float *sm = t->smean ? dnn_host(t->smean, l.p, call) : NULL, *si = t->sinv ? dnn_host(t->sinv, l.p, call) : NULL;
	if (!g || !dg || !db || (t->smean && (!sm || !si)))
		return;
	float *ox = NULL, *ody = NULL;
	const float *x = view_read(t->x, &t->xv, call, &ox), *dy = x ? view_read(t->dy, &t->dyv, call, &ody) : NULL;
	float *gx = NULL, *gg = NULL, *gb = NULL;
	if (x == NULL || dy == NULL)
		goto done;
	if (sm != NULL && cudasim_strict() && !bn_saved_match(call, l, x, sm, si, t->eps))
		goto done;
	gx = malloc(len * sizeof *gx), gg = malloc(l.p * sizeof *gg), gb = malloc(l.p * sizeof *gb);
	if (!gx || !gg || !gb) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "out of host memory");
		goto done;
	}
	bn_backward(l, x, dy, g, sm, si, t->eps, gx, gg, gb);
	if (!view_scatter(t->dx, &t->dxv, gx, t->ad, t->bd, call))
		goto done;
	dnn_blend(dg, gg, l.p, t->ap, t->bp);
	dnn_blend(db, gb, l.p, t->ap, t->bp);
done:
	free(ox), free(ody), free(gx), free(gg), free(gb);
}

/* cudnnBatchNormalizationBackward(): dx = alphaDataDiff·∂/∂x +
 * betaDataDiff·dx; dBnScaleResult and dBnBiasResult blended with
 * alphaParamDiff/betaParamDiff. savedMean and savedInvVariance are the
 * forward's "optional cache"; "both parameters can be NULL but only at the
 * same time". BAD_PARAM: "any of the pointers alpha, beta, x, dy, dx,
 * bnScale, resultBnScaleDiff, resultBnBiasDiff is NULL", "exactly one of
 * savedMean, savedInvVariance pointers is NULL", "epsilon < 
 * CUDNN_BN_MIN_EPSILON", mismatched dimensions of xDesc, dyDesc, dxDesc, the
 * descriptor checks of bn_layout. */
DNN_API cudnnStatus_t cudnnBatchNormalizationBackward(cudnnHandle_t h, int mode, const void *alphaData, const void *betaData,
	const void *alphaParam, const void *betaParam, cudnnTensorDescriptor_t xd, const void *x, cudnnTensorDescriptor_t dyd,
	const void *dy, cudnnTensorDescriptor_t dxd, void *dx, cudnnTensorDescriptor_t pd, const void *scale, void *dscale,
	void *dbias, double eps, const void *smean, const void *sinv)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnBatchNormalizationBackward";
	if (!dnn_handle_ok(h))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live cuDNN handle");
	bnlayout l, l2;
	tview xv, dxv, dyv;
	cudnnStatus_t s = bn_layout(call, mode, xd, dxd, pd, &l, &xv, &dxv);
	if (s == CUDNN_STATUS_SUCCESS)
		s = bn_layout(call, mode, xd, dyd, pd, &l2, &xv, &dyv);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (!alphaData || !betaData || !alphaParam || !betaParam || !x || !dy || !dx || !scale || !dscale || !dbias)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a scaling factor, x, dy, dx, bnScale or a result pointer is NULL");
	if ((smean == NULL) != (sinv == NULL))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "exactly one of savedMean, savedInvVariance is NULL");
	if (!(eps >= CUDNN_BN_MIN_EPSILON))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "epsilon %g is less than CUDNN_BN_MIN_EPSILON (%g)", eps, CUDNN_BN_MIN_EPSILON);
	if ((s = dnn_no_overlap_views(call, "dx", dx, &dxv, "x", x, &xv)) != CUDNN_STATUS_SUCCESS ||
		(s = dnn_no_overlap_views(call, "dx", dx, &dxv, "dy", dy, &dyv)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (!view_check(x, &xv, call) || !view_check(dy, &dyv, call) || !view_check(dx, &dxv, call) || !dnn_check(scale, l.p, call) ||
		!dnn_check(dscale, l.p, call) || !dnn_check(dbias, l.p, call) ||
		(smean && (!dnn_check(smean, l.p, call) || !dnn_check(sinv, l.p, call))))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	bnbwd *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (bnbwd){.l = l, .xv = xv, .dyv = dyv, .dxv = dxv, .ad = *(const float *)alphaData, .bd = *(const float *)betaData, .ap = *(const float *)alphaParam,
		.bp = *(const float *)betaParam, .eps = eps, .x = x, .dy = dy, .scale = scale, .smean = smean, .sinv = sinv,
		.dx = dx, .dscale = dscale, .dbias = dbias};
	return dnn_enqueue(h, call, run_bn_bwd, t);
}

/* cudnnDeriveBNTensorDescriptor(): "derives a secondary tensor descriptor for
 * the batch normalization scale, invVariance, bnBias, and bnScale subtensors
 * from the layer's x data descriptor": 1xCx1x1 for the spatial modes,
 * 1xCxHxW per activation. Measured against cuDNN 9.10.2 and 9.28.1: the
 * derived tensor is packed NCHW whatever x's format, DOUBLE for DOUBLE x and
 * FLOAT for every other type (the API reference: "for HALF input data type
 * the resulting tensor descriptor will have a FLOAT type"); a mode outside
 * the three enumerants, a NULL derived descriptor or a never set x is
 * BAD_PARAM (a NULL x crashes the real cuDNN; BAD_PARAM here). */
DNN_API cudnnStatus_t cudnnDeriveBNTensorDescriptor(cudnnTensorDescriptor_t derived, cudnnTensorDescriptor_t xd, int mode)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnDeriveBNTensorDescriptor";
	if (derived == NULL || derived->magic != MAGIC_TENSOR || !dnn_tensor_ok(xd))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a tensor descriptor is NULL or x is not set");
	if (mode != CUDNN_BATCHNORM_PER_ACTIVATION && mode != CUDNN_BATCHNORM_SPATIAL && mode != CUDNN_BATCHNORM_SPATIAL_PERSISTENT)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "mode %d is not an enumerant", mode);
	/* As many dimensions as x (measured: a 5-d x gives 1xCx1x1x1), packed. */
	int spatial = mode != CUDNN_BATCHNORM_PER_ACTIVATION;
	derived->format = CUDNN_TENSOR_NCHW;
	derived->dtype = xd->dtype == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
	derived->nb = xd->nb;
	for (int i = 0; i < xd->nb; i++)
		derived->dims[i] = i == 0 ? 1 : i == 1 ? xd->c : spatial ? 1 : xd->dims[i];
	for (int i = xd->nb - 1, p = 1; i >= 0; p *= derived->dims[i], i--)
		derived->strides[i] = p;
	derived->n = 1, derived->c = xd->c;
	derived->h = xd->nb < 3 ? 0 : spatial ? 1 : xd->h, derived->w = xd->nb < 4 ? 0 : spatial ? 1 : xd->w;
	if (xd->nb != 4)
		derived->format = SIM_TENSOR_STRIDED;
	derived->bytes = tensor_bytes(derived);
	derived->set = 1;
	return CUDNN_STATUS_SUCCESS;
}
