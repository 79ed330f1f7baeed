/*
 * bnex.c: the extended batch-norm calls — cudnnBatchNormalizationForwardTrainingEx,
 * cudnnBatchNormalizationBackwardEx and their three size queries — with the
 * fused operations of cudnnBatchNormOps_t: BN, BN then activation, BN then
 * an element-wise addition of z then activation: y = act(BN(x) + z).
 *
 * Sources. cudnn_ops.h of cuDNN 9.28.1 (the CUDA 13 wheel) documents only
 * the prototypes, "Computes y = relu(BN(x) + z)", the enum (BN,
 * BN_ACTIVATION, BN_ADD_ACTIVATION) and the statuses SUCCESS and BAD_PARAM;
 * it marks all five CUDNN_DEPRECATED ("Use graph API instead"). cuDNN
 * 9.10.2's header (CUDA 12 wheel) has the prototypes only. The rules below
 * are the cuDNN API reference's (cudnn_ops library,
 * docs.nvidia.com/deeplearning/cudnn/latest/api/cudnn-ops-library.html,
 * cudnnBatchNormalizationForwardTrainingEx and BackwardEx), which says the
 * fused "semi-persistent NHWC kernel" runs when:
 *   - "All tensors, namely, x, y, dz, dy, and dx must be NHWC-fully packed,
 *     and must be of the type CUDNN_DATA_HALF";
 *   - "The input parameter mode must be set to CUDNN_BATCHNORM_SPATIAL_PERSISTENT";
 *   - "workspace is not NULL";
 *   - "the tensor C dimension should be a multiple of 4 only when bnOps is
 *     CUDNN_BATCHNORM_OPS_BN_ACTIVATION" (since 8.2.0; always before);
 *   - workSpaceSizeInBytes and reserveSpaceSizeInBytes are at least what
 *     the size queries return, and "the content in reserveSpace stored by
 *     cudnnBatchNormalizationForwardTrainingEx() must be preserved";
 * and "if workspace is NULL and workSpaceSizeInBytes of zero is passed in,
 * this API will function exactly like the non-extended function". zDesc and
 * zData are "only used when bnOps is CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION",
 * z "should have exactly the same dimension as x and the final output y";
 * activationDesc is used for the two activation ops, "otherwise user may
 * pass NULL"; BackwardEx's y is used "only when bnOps is not
 * CUDNN_BATCHNORM_OPS_BN" and bnBias "only when activation should be
 * performed". BAD_PARAM lists: NULL alpha, beta, x, y, bnScale, bnBias
 * (forward) or any scaling factor, x, dy, dx, bnScale, the two result
 * pointers (backward); x, y, dx dimensions outside [4,5]; parameter
 * dimensions not 1xCx1x1 (spatial) or 1xCxHxW (per activation); exactly one
 * of a saved or running pair NULL; epsilon below CUDNN_BN_MIN_EPSILON;
 * dimensions or types of x, y (dy, dx) that differ. NOT_SUPPORTED: "the
 * function does not support the provided configuration".
 * (These quotes are from the API reference as published for cuDNN 8.x and
 * 9.x; the search corpus of this session did not return the page's text, so
 * they were not re-read against the 9.28 page: recheck when it is at hand.)
 * SPATIAL_PERSISTENT (cudnnBatchNormMode_t): in the backward pass "the
 * savedMean and savedInvVariance arguments should not be NULL".
 *
 * Measured (testdata/cudnn_calls.c, TestSimulatorCUDNNMatchesReal): without
 * a GPU there is no handle, and cudnnBatchNormalizationForwardTrainingEx and
 * the three size queries answer a NULL handle with BAD_PARAM before any other
 * check. cudnnBatchNormalizationBackwardEx checks its arguments first, so a
 * NULL handle shows what it refuses on the host (9.10.2 and 9.28.1 agree):
 *   - BAD_PARAM: bnOps or mode outside its enum; a NULL activation
 *     descriptor for a fused op; a NULL dzDesc for BN_ADD_ACTIVATION; dx,
 *     dy or dz of another type or shape than x; a parameter tensor not
 *     1xCx1x1 or not FLOAT (BAD_PARAM here, where the non-extended calls
 *     document NOT_SUPPORTED); exactly one saved statistic NULL; a NULL
 *     scaling factor; epsilon below CUDNN_BN_MIN_EPSILON;
 *   - NOT_SUPPORTED, for the fused ops: an activation never set or not
 *     CUDNN_ACTIVATION_RELU (sigmoid, tanh, clipped ReLU, ELU, identity);
 *     mode SPATIAL or PER_ACTIVATION; x, y, dy or dx in NCHW; y of another
 *     type or shape than x; FLOAT data (BN_ACTIVATION); C not a multiple of 4
 *     (BN_ACTIVATION only: C = 5 and 6 pass for BN_ADD_ACTIVATION, as the
 *     reference says); a dzDesc given to BN_ACTIVATION;
 *   - passed to the GPU part (the NULL handle then crashes it, so what
 *     follows is unknown): BFLOAT16 data, FLOAT data with
 *     BN_ADD_ACTIVATION, dz in NCHW, NULL or small workspace and reserve
 *     space, alpha/beta other than 1/0, a NULL y descriptor, bnBias or
 *     saved statistics; for BN, any activation descriptor.
 *
 * What the simulator does: the measured rules, in the same order in
 * BackwardEx (the handle after the arguments); where nothing was measured,
 * the reference's conditions, and refusal where it is silent (a backend that
 * passes here runs on a GPU; the converse is not guaranteed):
 *   - the fused ops need HALF x, y, z, dy, dz, dx, packed NHWC
 *     (NOT_SUPPORTED): BFLOAT16 and FLOAT (BN_ADD_ACTIVATION) included,
 *     which the real host checks let through — the reference names HALF
 *     only, and what the GPU part does with them cannot be seen here;
 *   - a fused op with a NULL workspace: NOT_SUPPORTED (the non-extended
 *     function it would fall back to has no activation);
 *   - the fused ops blend nothing: alpha (alphaDataDiff, alphaParamDiff)
 *     other than 1 or beta (betaDataDiff, betaParamDiff) other than 0 is
 *     NOT_SUPPORTED (silent; the NHWC kernel's outputs are written);
 *   - BN alone runs as the non-extended calls do (any mode, type and layout
 *     they take, blending), on the fallback (NULL workspace, size 0) or not;
 *   - a workspace or reserve space smaller than its query's answer, or a
 *     NULL reserve space off the fallback: BAD_PARAM (the reference gives no
 *     status; BAD_PARAM is its status for arguments that cannot be used);
 *   - BackwardEx of a fused op with a NULL y, bnBias or saved statistics
 *     (SPATIAL_PERSISTENT: "should not be NULL"): BAD_PARAM;
 *   - in strict mode (cudasim_strict), an output overlapping an input is
 *     BAD_PARAM: no in-place operation is documented.
 * The size queries check what the calls check of the descriptors and return
 * the same status, so a query is also the capability probe.
 *
 * The simulator's own sizes (the real ones differ by card and version: a
 * caller must use the queries' answers): forward workspace 2·C floats,
 * backward workspace 3·C floats (neither used: the simulator checks only
 * that they lie in live memory), reserve space a 32-byte record of the
 * forward call (bnex_record) followed, for the fused ops, by a bit per
 * element of x, logical NCHW order, set where the activation's input
 * BN(x) (+ z) was > 0 — what ReLU's backward needs, from the float value
 * before y was rounded. In strict mode the backward checks the record (the
 * reserve space of another layer, or of a forward of another shape or op, or
 * one never written, fails the stream) and that y agrees with the bits
 * (y = 0 where a bit is clear; y > 0 only where set).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"

#define BNEX_MAGIC 0x58454e42u /* "BNEX" */

/* The first 32 bytes of the reserve space: what the forward call was. */
typedef struct {
	uint32_t magic, ops;
	int32_t n, c, h, w, dtype, mode;
} bnex_record;

static int fused(int ops) { return ops == CUDNN_BATCHNORM_OPS_BN_ACTIVATION || ops == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION; }

static size_t reserve_bytes(int ops, shape4 x)
{
	size_t b = sizeof(bnex_record);
	if (fused(ops))
		b += (shape4_len(x) + 63) / 64 * 8;
	return b;
}
static size_t fwd_ws_bytes(shape4 x) { return 2 * (size_t)x.c * sizeof(float); }
static size_t bwd_ws_bytes(shape4 x) { return 3 * (size_t)x.c * sizeof(float); }

/* ---- the checks of the descriptors ---- */

/* bnex_ops checks bnOps, and for the fused ops the activation descriptor,
 * the mode and C. */
static cudnnStatus_t bnex_ops(const char *call, int mode, int ops, cudnnActivationDescriptor_t ad, shape4 x)
{
	if (ops != CUDNN_BATCHNORM_OPS_BN && !fused(ops))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "bnOps %d is not an enumerant", ops);
	if (!fused(ops))
		return CUDNN_STATUS_SUCCESS;
	if (ad == NULL || ad->magic != MAGIC_ACT)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "bnOps %d needs an activation descriptor; it is NULL", ops);
	if (!ad->set || ad->mode != CUDNN_ACTIVATION_RELU)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "activation %s: cuDNN fuses CUDNN_ACTIVATION_RELU only",
			ad->set ? "mode is not RELU" : "never set");
	if (mode != CUDNN_BATCHNORM_SPATIAL_PERSISTENT)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call,
			"bnOps %d runs on cuDNN's NHWC kernel only, which needs mode CUDNN_BATCHNORM_SPATIAL_PERSISTENT (not %d)", ops, mode);
	if (ops == CUDNN_BATCHNORM_OPS_BN_ACTIVATION && x.c % 4 != 0)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "BN_ACTIVATION: C = %d is not a multiple of 4", x.c);
	return CUDNN_STATUS_SUCCESS;
}

/* bnex_nhwc_half: the fused ops' tensors are HALF and packed NHWC. */
static cudnnStatus_t bnex_nhwc_half(const char *call, int ops, const char *name, const tview *v)
{
	if (!fused(ops))
		return CUDNN_STATUS_SUCCESS;
	if (v->dtype != CUDNN_DATA_HALF)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "bnOps %d: %s is %s; the fused NHWC kernel takes HALF only", ops, name,
			dtype_name(v->dtype));
	if (!view_nhwc(v))
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "bnOps %d: %s is not packed NHWC, as the fused kernel needs", ops, name);
	return CUDNN_STATUS_SUCCESS;
}

/* bnex_param: the parameter tensor's type is FLOAT (DOUBLE for DOUBLE x), or
 * BAD_PARAM — measured on cudnnBatchNormalizationBackwardEx (9.10.2, 9.28.1),
 * where the non-extended calls document NOT_SUPPORTED (batchnorm.c). */
static cudnnStatus_t bnex_param(const char *call, cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t pd)
{
	if (!dnn_tensor_ok(xd) || !dnn_tensor_ok(pd))
		return CUDNN_STATUS_SUCCESS; /* bn_layout says BAD_PARAM */
	int want = xd->dtype == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
	if (pd->dtype != want)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "the parameter tensor is %s; %s x takes %s", dtype_name(pd->dtype),
			dtype_name(xd->dtype), dtype_name(want));
	return CUDNN_STATUS_SUCCESS;
}

/* The forward's descriptors. */
typedef struct {
	bnlayout l;
	shape4 x;
	tview xv, yv, zv;
} fwdcfg;

static cudnnStatus_t fwd_config(const char *call, cudnnHandle_t h, int mode, int ops, cudnnTensorDescriptor_t xd,
	cudnnTensorDescriptor_t zd, cudnnTensorDescriptor_t yd, cudnnTensorDescriptor_t pd, cudnnActivationDescriptor_t ad, fwdcfg *c)
{
	if (!dnn_handle_ok(h))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live cuDNN handle");
	cudnnStatus_t s;
	if ((s = bnex_param(call, xd, pd)) != CUDNN_STATUS_SUCCESS || (s = bn_layout(call, mode, xd, yd, pd, &c->l, &c->xv, &c->yv)) !=
		CUDNN_STATUS_SUCCESS)
		return s;
	c->x = tensor_shape(xd);
	if ((s = bnex_ops(call, mode, ops, ad, c->x)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (ops == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION) {
		bnlayout l2;
		tview xv2;
		if (zd == NULL)
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "BN_ADD_ACTIVATION needs zDesc");
		if ((s = bn_layout(call, mode, xd, zd, pd, &l2, &xv2, &c->zv)) != CUDNN_STATUS_SUCCESS)
			return s;
		if ((s = bnex_nhwc_half(call, ops, "z", &c->zv)) != CUDNN_STATUS_SUCCESS)
			return s;
	}
	if ((s = bnex_nhwc_half(call, ops, "x", &c->xv)) != CUDNN_STATUS_SUCCESS ||
		(s = bnex_nhwc_half(call, ops, "y", &c->yv)) != CUDNN_STATUS_SUCCESS)
		return s;
	return CUDNN_STATUS_SUCCESS;
}

/* The backward's descriptors: y only for the fused ops, dz only for
 * BN_ADD_ACTIVATION. The real cudnnBatchNormalizationBackwardEx (9.10.2,
 * 9.28.1) checks them before the handle, as measured with a NULL handle
 * (testdata/cudnn_calls.c): a fused op's y of another type or shape than x
 * is NOT_SUPPORTED there, not BAD_PARAM; so is a dzDesc given to
 * BN_ACTIVATION. The handle is checked by the caller, after. */
typedef struct {
	bnlayout l;
	shape4 x;
	tview xv, yv, dyv, dzv, dxv;
} bwdcfg;

static cudnnStatus_t bwd_config(const char *call, int mode, int ops, cudnnTensorDescriptor_t xd,
	cudnnTensorDescriptor_t yd, cudnnTensorDescriptor_t dyd, cudnnTensorDescriptor_t dzd, cudnnTensorDescriptor_t dxd,
	cudnnTensorDescriptor_t pd, cudnnActivationDescriptor_t ad, bwdcfg *c)
{
	bnlayout l2;
	tview xv2;
	cudnnStatus_t s = bnex_param(call, xd, pd);
	if (s == CUDNN_STATUS_SUCCESS)
		s = bn_layout(call, mode, xd, dxd, pd, &c->l, &c->xv, &c->dxv);
	if (s == CUDNN_STATUS_SUCCESS)
		s = bn_layout(call, mode, xd, dyd, pd, &l2, &xv2, &c->dyv);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	c->x = tensor_shape(xd);
	if ((s = bnex_ops(call, mode, ops, ad, c->x)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (ops == CUDNN_BATCHNORM_OPS_BN_ACTIVATION && dzd != NULL)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "BN_ACTIVATION takes no dzDesc");
	if (fused(ops)) {
		if (yd == NULL)
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "bnOps %d needs yDesc", ops);
		shape4 y = tensor_shape(yd);
		if (dnn_tensor_ok(yd) && (y.n != c->x.n || y.c != c->x.c || y.h != c->x.h || y.w != c->x.w || yd->dtype != xd->dtype))
			return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "y (%d,%d,%d,%d; %s) is not x's shape and type", y.n, y.c, y.h, y.w,
				dtype_name(yd->dtype));
		if ((s = bn_layout(call, mode, xd, yd, pd, &l2, &xv2, &c->yv)) != CUDNN_STATUS_SUCCESS ||
			(s = bnex_nhwc_half(call, ops, "y", &c->yv)) != CUDNN_STATUS_SUCCESS)
			return s;
	}
	if (ops == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION) {
		if (dzd == NULL)
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "BN_ADD_ACTIVATION needs dzDesc");
		if ((s = bn_layout(call, mode, xd, dzd, pd, &l2, &xv2, &c->dzv)) != CUDNN_STATUS_SUCCESS ||
			(s = bnex_nhwc_half(call, ops, "dz", &c->dzv)) != CUDNN_STATUS_SUCCESS)
			return s;
	}
	if ((s = bnex_nhwc_half(call, ops, "x", &c->xv)) != CUDNN_STATUS_SUCCESS ||
		(s = bnex_nhwc_half(call, ops, "dy", &c->dyv)) != CUDNN_STATUS_SUCCESS ||
		(s = bnex_nhwc_half(call, ops, "dx", &c->dxv)) != CUDNN_STATUS_SUCCESS)
		return s;
	return CUDNN_STATUS_SUCCESS;
}

/* bnex_spaces checks the workspace and reserve space of a call: *fallback
 * set when the call runs as the non-extended one (BN, NULL workspace of
 * size 0: the reserve space is then not used). */
static cudnnStatus_t bnex_spaces(const char *call, int ops, shape4 x, const void *ws, size_t ws_size, size_t ws_need,
	const void *rs, size_t rs_size, int *fallback)
{
	*fallback = ops == CUDNN_BATCHNORM_OPS_BN && ws == NULL && ws_size == 0;
	if (*fallback)
		return CUDNN_STATUS_SUCCESS;
	if (ws == NULL)
		return dnn_err(fused(ops) ? CUDNN_STATUS_NOT_SUPPORTED : CUDNN_STATUS_BAD_PARAM, call,
			"workspace is NULL with workSpaceSizeInBytes %zu%s", ws_size,
			fused(ops) ? ": the fused ops run on the NHWC kernel only, which needs a workspace" : "");
	if (ws_size < ws_need)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "workSpaceSizeInBytes %zu is less than the query's %zu", ws_size, ws_need);
	size_t rs_need = reserve_bytes(ops, x);
	if (rs == NULL || rs_size < rs_need)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "reserveSpace %p of %zu bytes; cudnnGetBatchNormalizationTrainingExReserveSpaceSize "
			"says %zu", rs, rs_size, rs_need);
	if (!cudasim_check((cudasim_devptr)(uintptr_t)ws, ws_need, call) || !cudasim_check((cudasim_devptr)(uintptr_t)rs, rs_need, call))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "the workspace or reserve space is not inside one live allocation");
	return CUDNN_STATUS_SUCCESS;
}

/* ---- the size queries ---- */

/* cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(): BAD_PARAM for
 * a NULL sizeInBytes; otherwise the forward's descriptor checks and status. */
DNN_API cudnnStatus_t cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(cudnnHandle_t h, int mode, int ops,
	cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t zd, cudnnTensorDescriptor_t yd, cudnnTensorDescriptor_t pd,
	cudnnActivationDescriptor_t ad, size_t *size)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize";
	fwdcfg c;
	cudnnStatus_t s = fwd_config(call, h, mode, ops, xd, zd, yd, pd, ad, &c);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (size == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "sizeInBytes is NULL");
	*size = fwd_ws_bytes(c.x);
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetBatchNormalizationBackwardExWorkspaceSize(): as the forward's. */
DNN_API cudnnStatus_t cudnnGetBatchNormalizationBackwardExWorkspaceSize(cudnnHandle_t h, int mode, int ops,
	cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t yd, cudnnTensorDescriptor_t dyd, cudnnTensorDescriptor_t dzd,
	cudnnTensorDescriptor_t dxd, cudnnTensorDescriptor_t pd, cudnnActivationDescriptor_t ad, size_t *size)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetBatchNormalizationBackwardExWorkspaceSize";
	if (!dnn_handle_ok(h))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live cuDNN handle");
	bwdcfg c;
	cudnnStatus_t s = bwd_config(call, mode, ops, xd, yd, dyd, dzd, dxd, pd, ad, &c);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (size == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "sizeInBytes is NULL");
	*size = bwd_ws_bytes(c.x);
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetBatchNormalizationTrainingExReserveSpaceSize(): BAD_PARAM for "the
 * xDesc tensor descriptor dimension is not within the [4,5] range", a NULL
 * or never set x, a NULL sizeInBytes; bnOps and the activation as the calls
 * check them; for the fused ops, x HALF and packed NHWC (NOT_SUPPORTED). */
DNN_API cudnnStatus_t cudnnGetBatchNormalizationTrainingExReserveSpaceSize(cudnnHandle_t h, int mode, int ops,
	cudnnActivationDescriptor_t ad, cudnnTensorDescriptor_t xd, size_t *size)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetBatchNormalizationTrainingExReserveSpaceSize";
	if (!dnn_handle_ok(h))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live cuDNN handle");
	if (!dnn_tensor_ok(xd))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "xDesc is NULL or not set");
	if (mode != CUDNN_BATCHNORM_PER_ACTIVATION && mode != CUDNN_BATCHNORM_SPATIAL && mode != CUDNN_BATCHNORM_SPATIAL_PERSISTENT)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "mode %d is not an enumerant", mode);
	shape4 x = tensor_shape(xd);
	cudnnStatus_t s = bnex_ops(call, mode, ops, ad, x);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	tview xv;
	if ((s = tensor_view(call, "x", xd, &xv)) != CUDNN_STATUS_SUCCESS || (s = bnex_nhwc_half(call, ops, "x", &xv)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (size == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "sizeInBytes is NULL");
	*size = reserve_bytes(ops, x);
	return CUDNN_STATUS_SUCCESS;
}

/* ---- forward ---- */

typedef struct {
	int ops, fallback, mode, nan;
	fwdcfg c;
	float alpha, beta;
	double factor, eps;
	const void *x, *z, *scale, *bias;
	void *y, *rmean, *rvar, *smean, *sinv, *reserve;
} fwdtask;

static void run_fwd(void *arg)
{
	const char *call = "cudnnBatchNormalizationForwardTrainingEx";
	fwdtask *t = arg;
	bnlayout l = t->c.l;
	size_t len = shape4_len(t->c.x);
	const float *g = dnn_host(t->scale, l.p, call), *b = dnn_host(t->bias, l.p, call);
	float *rm = t->rmean ? dnn_host(t->rmean, l.p, call) : NULL, *rv = t->rvar ? dnn_host(t->rvar, l.p, call) : NULL;
	float *sm = t->smean ? dnn_host(t->smean, l.p, call) : NULL, *si = t->sinv ? dnn_host(t->sinv, l.p, call) : NULL;
	unsigned char *rs = NULL;
	if (!t->fallback && (rs = cudasim_host((cudasim_devptr)(uintptr_t)t->reserve, reserve_bytes(t->ops, t->c.x), call)) == NULL)
		return;
	if (!g || !b || (t->rmean && !rm) || (t->rvar && !rv) || (t->smean && !sm) || (t->sinv && !si))
		return;
	float *ox = NULL, *oz = NULL;
	const float *x = view_read(t->x, &t->c.xv, call, &ox), *z = NULL;
	float *mean = NULL, *inv = NULL, *varu = NULL, *out = NULL;
	if (x == NULL || (t->ops == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION && (z = view_read(t->z, &t->c.zv, call, &oz)) == NULL))
		goto done;
	mean = malloc(l.p * sizeof *mean), inv = malloc(l.p * sizeof *inv);
	varu = malloc(l.p * sizeof *varu), out = malloc((len ? len : 1) * sizeof *out);
	if (!mean || !inv || !varu || !out) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "out of host memory");
		goto done;
	}
	bn_forward(l, x, g, b, t->eps, out, mean, inv, varu);
	if (fused(t->ops)) {
		/* act(BN(x) + z) in float, rounded once when y is stored; the
		 * mask bit is the ReLU's derivative at its float input. */
		unsigned char *mask = rs + sizeof(bnex_record);
		memset(mask, 0, reserve_bytes(t->ops, t->c.x) - sizeof(bnex_record));
		for (size_t i = 0; i < len; i++) {
			float v = z ? out[i] + z[i] : out[i];
			if (v > 0)
				mask[i / 8] |= (unsigned char)(1u << (i % 8));
			out[i] = v > 0 ? v : (isnan(v) && t->nan == CUDNN_PROPAGATE_NAN) ? v : 0.0f;
		}
	}
	if (!view_scatter(t->y, &t->c.yv, out, t->alpha, t->beta, call))
		goto done;
	bn_update(l, t->factor, mean, inv, varu, rm, rv, sm, si);
	if (rs != NULL) {
		bnex_record r = {BNEX_MAGIC, (uint32_t)t->ops, t->c.x.n, t->c.x.c, t->c.x.h, t->c.x.w, t->c.xv.dtype, t->mode};
		memcpy(rs, &r, sizeof r);
	}
done:
	free(ox), free(oz), free(mean), free(inv), free(varu), free(out);
}

/* cudnnBatchNormalizationForwardTrainingEx(): y = alpha·act(BN(x) (+ z)) +
 * beta·y, the running and saved statistics exactly as
 * cudnnBatchNormalizationForwardTraining's; the checks are this file's
 * header comment. */
DNN_API cudnnStatus_t cudnnBatchNormalizationForwardTrainingEx(cudnnHandle_t h, int mode, int ops, const void *alpha,
	const void *beta, cudnnTensorDescriptor_t xd, const void *x, cudnnTensorDescriptor_t zd, const void *z,
	cudnnTensorDescriptor_t yd, void *y, cudnnTensorDescriptor_t pd, const void *scale, const void *bias, double factor,
	void *rmean, void *rvar, double eps, void *smean, void *sinv, cudnnActivationDescriptor_t ad, void *ws, size_t ws_size,
	void *rs, size_t rs_size)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnBatchNormalizationForwardTrainingEx";
	fwdcfg c;
	cudnnStatus_t s = fwd_config(call, h, mode, ops, xd, zd, yd, pd, ad, &c);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	int add = ops == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION;
	if (!alpha || !beta || !x || !y || !scale || !bias)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "alpha, beta, x, y, bnScale or bnBias is NULL");
	if (add && z == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "BN_ADD_ACTIVATION needs zData");
	if ((smean == NULL) != (sinv == NULL))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "exactly one of resultSaveMean, resultSaveInvVariance is NULL");
	if ((rmean == NULL) != (rvar == NULL))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "exactly one of resultRunningMean, resultRunningVariance is NULL");
	if (!(eps >= CUDNN_BN_MIN_EPSILON))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "epsilon %g is less than CUDNN_BN_MIN_EPSILON (%g)", eps, CUDNN_BN_MIN_EPSILON);
	float a = *(const float *)alpha, b = *(const float *)beta;
	if (fused(ops) && (a != 1.0f || b != 0.0f))
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "bnOps %d with alpha %g, beta %g: the simulator fuses alpha 1, beta 0 only", ops, a, b);
	int fallback;
	if ((s = bnex_spaces(call, ops, c.x, ws, ws_size, fwd_ws_bytes(c.x), rs, rs_size, &fallback)) != CUDNN_STATUS_SUCCESS)
		return s;
	if ((s = dnn_no_overlap_views(call, "y", y, &c.yv, "x", x, &c.xv)) != CUDNN_STATUS_SUCCESS ||
		(add && (s = dnn_no_overlap_views(call, "y", y, &c.yv, "z", z, &c.zv)) != CUDNN_STATUS_SUCCESS))
		return s;
	if (!fallback && ((s = dnn_no_overlap_bytes(call, "reserveSpace", rs, reserve_bytes(ops, c.x), "x", x, view_bytes(&c.xv))) !=
		CUDNN_STATUS_SUCCESS || (s = dnn_no_overlap_bytes(call, "reserveSpace", rs, reserve_bytes(ops, c.x), "y", y,
		view_bytes(&c.yv))) != CUDNN_STATUS_SUCCESS))
		return s;
	size_t p = c.l.p;
	if (!view_check(x, &c.xv, call) || !view_check(y, &c.yv, call) || (add && !view_check(z, &c.zv, call)) ||
		!dnn_check(scale, p, call) || !dnn_check(bias, p, call) ||
		(rmean && (!dnn_check(rmean, p, call) || !dnn_check(rvar, p, call))) ||
		(smean && (!dnn_check(smean, p, call) || !dnn_check(sinv, p, call))))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	fwdtask *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (fwdtask){.ops = ops, .fallback = fallback, .mode = mode, .nan = fused(ops) ? ad->nan : 0, .c = c, .alpha = a, .beta = b,
		.factor = factor, .eps = eps, .x = x, .z = add ? z : NULL, .scale = scale, .bias = bias, .y = y, .rmean = rmean,
		.rvar = rvar, .smean = smean, .sinv = sinv, .reserve = fallback ? NULL : rs};
	return dnn_enqueue(h, call, run_fwd, t);
}

/* ---- backward ---- */

typedef struct {
	int ops, fallback, mode;
	bwdcfg c;
	float ad, bd, ap, bp;
	double eps;
	const void *x, *y, *dy, *scale, *smean, *sinv, *reserve;
	void *dz, *dx, *dscale, *dbias;
} bwdtask;

/* record_ok: strict mode's check that the reserve space holds this forward's
 * record and bits that agree with y. */
static int record_ok(const char *call, const bwdtask *t, const unsigned char *rs, const float *y)
{
	bnex_record r;
	memcpy(&r, rs, sizeof r);
	shape4 x = t->c.x;
	if (r.magic != BNEX_MAGIC) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "reserveSpace was not written by cudnnBatchNormalizationForwardTrainingEx "
			"(or was overwritten since): cuDNN requires that \"the content in reserveSpace stored by "
			"cudnnBatchNormalizationForwardTrainingEx() must be preserved\"");
		return 0;
	}
	if (r.ops != (uint32_t)t->ops || r.n != x.n || r.c != x.c || r.h != x.h || r.w != x.w || r.dtype != t->c.xv.dtype || r.mode != t->mode) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "reserveSpace holds the forward of bnOps %u, mode %d, x (%d,%d,%d,%d; %s); "
			"this backward is bnOps %d, mode %d, x (%d,%d,%d,%d; %s): another layer's reserve space?", r.ops, r.mode, r.n, r.c, r.h,
			r.w, dtype_name(r.dtype), t->ops, t->mode, x.n, x.c, x.h, x.w, dtype_name(t->c.xv.dtype));
		return 0;
	}
	if (!fused(t->ops))
		return 1;
	const unsigned char *mask = rs + sizeof r;
	size_t len = shape4_len(x);
	for (size_t i = 0; i < len; i++) {
		int bit = mask[i / 8] >> (i % 8) & 1;
		if ((!bit && y[i] != 0) || (y[i] > 0 && !bit)) {
			cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "y[%zu] = %g disagrees with the reserve space (activation input %s 0): "
				"y is not the output of the forward that wrote this reserve space", i, y[i], bit ? ">" : "<=");
			return 0;
		}
	}
	return 1;
}

static void run_bwd(void *arg)
{
	const char *call = "cudnnBatchNormalizationBackwardEx";
	bwdtask *t = arg;
	bnlayout l = t->c.l;
	size_t len = shape4_len(t->c.x);
	const float *g = dnn_host(t->scale, l.p, call);
	float *dg = dnn_host(t->dscale, l.p, call), *db = dnn_host(t->dbias, l.p, call);
	const float *sm = t->smean ? dnn_host(t->smean, l.p, call) : NULL, *si = t->sinv ? dnn_host(t->sinv, l.p, call) : NULL;
	const unsigned char *rs = NULL;
	if (!t->fallback && (rs = cudasim_host((cudasim_devptr)(uintptr_t)t->reserve, reserve_bytes(t->ops, t->c.x), call)) == NULL)
		return;
	if (!g || !dg || !db || (t->smean && (!sm || !si)))
		return;
	float *ox = NULL, *ody = NULL, *oy = NULL, *gy = NULL, *gx = NULL, *gg = NULL, *gb = NULL;
	const float *x = view_read(t->x, &t->c.xv, call, &ox), *dy = x ? view_read(t->dy, &t->c.dyv, call, &ody) : NULL, *y = NULL;
	if (x == NULL || dy == NULL || (fused(t->ops) && (y = view_read(t->y, &t->c.yv, call, &oy)) == NULL))
		goto done;
	if (sm != NULL && cudasim_strict() && !bn_saved_match(call, l, x, sm, si, t->eps))
		goto done;
	if (rs != NULL && cudasim_strict() && !record_ok(call, t, rs, y))
		goto done;
	gy = malloc((len ? len : 1) * sizeof *gy), gx = malloc((len ? len : 1) * sizeof *gx);
	gg = malloc(l.p * sizeof *gg), gb = malloc(l.p * sizeof *gb);
	if (!gy || !gx || !gg || !gb) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "out of host memory");
		goto done;
	}
	/* Through the activation: dy where its input was > 0, else 0; that is
	 * also the gradient of z. */
	const unsigned char *mask = rs ? rs + sizeof(bnex_record) : NULL;
	for (size_t i = 0; i < len; i++)
		gy[i] = !fused(t->ops) || (mask[i / 8] >> (i % 8) & 1) ? dy[i] : 0.0f;
	bn_backward(l, x, gy, g, sm, si, t->eps, gx, gg, gb);
	if (!view_scatter(t->dx, &t->c.dxv, gx, t->ad, t->bd, call))
		goto done;
	if (t->ops == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION && !view_scatter(t->dz, &t->c.dzv, gy, t->ad, t->bd, call))
		goto done;
	dnn_blend(dg, gg, l.p, t->ap, t->bp);
	dnn_blend(db, gb, l.p, t->ap, t->bp);
done:
	free(ox), free(ody), free(oy), free(gy), free(gx), free(gg), free(gb);
}

/* cudnnBatchNormalizationBackwardEx(): dx = alphaDataDiff·∂/∂x +
 * betaDataDiff·dx through act and BN, dz (BN_ADD_ACTIVATION) the gradient
 * at the addition, the parameter gradients blended with alphaParamDiff and
 * betaParamDiff, as cudnnBatchNormalizationBackward's; the checks are this
 * file's header comment. */
DNN_API cudnnStatus_t cudnnBatchNormalizationBackwardEx(cudnnHandle_t h, int mode, int ops, const void *alphaData,
	const void *betaData, const void *alphaParam, const void *betaParam, cudnnTensorDescriptor_t xd, const void *x,
	cudnnTensorDescriptor_t yd, const void *y, cudnnTensorDescriptor_t dyd, const void *dy, cudnnTensorDescriptor_t dzd,
	void *dz, cudnnTensorDescriptor_t dxd, void *dx, cudnnTensorDescriptor_t pd, const void *scale, const void *bias,
	void *dscale, void *dbias, double eps, const void *smean, const void *sinv, cudnnActivationDescriptor_t ad, void *ws,
	size_t ws_size, void *rs, size_t rs_size)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnBatchNormalizationBackwardEx";
	bwdcfg c;
	cudnnStatus_t s = bwd_config(call, mode, ops, xd, yd, dyd, dzd, dxd, pd, ad, &c);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	int add = ops == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION;
	if (!alphaData || !betaData || !alphaParam || !betaParam || !x || !dy || !dx || !scale || !dscale || !dbias)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a scaling factor, x, dy, dx, bnScaleData or a result pointer is NULL");
	if (fused(ops) && (y == NULL || bias == NULL))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "bnOps %d needs yData and bnBiasData", ops);
	if (add && dz == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "BN_ADD_ACTIVATION needs dzData");
	if ((smean == NULL) != (sinv == NULL))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "exactly one of savedMean, savedInvVariance is NULL");
	if (mode == CUDNN_BATCHNORM_SPATIAL_PERSISTENT && smean == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "CUDNN_BATCHNORM_SPATIAL_PERSISTENT: \"the savedMean and savedInvVariance "
			"arguments should not be NULL\"");
	if (!(eps >= CUDNN_BN_MIN_EPSILON))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "epsilon %g is less than CUDNN_BN_MIN_EPSILON (%g)", eps, CUDNN_BN_MIN_EPSILON);
	if (!dnn_handle_ok(h))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live cuDNN handle");
	float a_d = *(const float *)alphaData, b_d = *(const float *)betaData, a_p = *(const float *)alphaParam,
	      b_p = *(const float *)betaParam;
	if (fused(ops) && (a_d != 1.0f || b_d != 0.0f || a_p != 1.0f || b_p != 0.0f))
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "bnOps %d with alphas %g, %g and betas %g, %g: the simulator fuses "
			"alpha 1, beta 0 only", ops, a_d, a_p, b_d, b_p);
	int fallback;
	if ((s = bnex_spaces(call, ops, c.x, ws, ws_size, bwd_ws_bytes(c.x), rs, rs_size, &fallback)) != CUDNN_STATUS_SUCCESS)
		return s;
	if ((s = dnn_no_overlap_views(call, "dx", dx, &c.dxv, "x", x, &c.xv)) != CUDNN_STATUS_SUCCESS ||
		(s = dnn_no_overlap_views(call, "dx", dx, &c.dxv, "dy", dy, &c.dyv)) != CUDNN_STATUS_SUCCESS ||
		(add && ((s = dnn_no_overlap_views(call, "dz", dz, &c.dzv, "dy", dy, &c.dyv)) != CUDNN_STATUS_SUCCESS ||
			(s = dnn_no_overlap_views(call, "dz", dz, &c.dzv, "dx", dx, &c.dxv)) != CUDNN_STATUS_SUCCESS ||
			(s = dnn_no_overlap_views(call, "dz", dz, &c.dzv, "x", x, &c.xv)) != CUDNN_STATUS_SUCCESS)) ||
		(fused(ops) && (s = dnn_no_overlap_views(call, "dx", dx, &c.dxv, "y", y, &c.yv)) != CUDNN_STATUS_SUCCESS))
		return s;
	size_t p = c.l.p;
	if (!view_check(x, &c.xv, call) || !view_check(dy, &c.dyv, call) || !view_check(dx, &c.dxv, call) ||
		(fused(ops) && (!view_check(y, &c.yv, call) || !dnn_check(bias, p, call))) || (add && !view_check(dz, &c.dzv, call)) ||
		!dnn_check(scale, p, call) || !dnn_check(dscale, p, call) || !dnn_check(dbias, p, call) ||
		(smean && (!dnn_check(smean, p, call) || !dnn_check(sinv, p, call))))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	bwdtask *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (bwdtask){.ops = ops, .fallback = fallback, .mode = mode, .c = c, .ad = a_d, .bd = b_d, .ap = a_p, .bp = b_p, .eps = eps,
		.x = x, .y = fused(ops) ? y : NULL, .dy = dy, .scale = scale, .smean = smean, .sinv = sinv, .reserve = fallback ? NULL : rs,
		.dz = add ? dz : NULL, .dx = dx, .dscale = dscale, .dbias = dbias};
	return dnn_enqueue(h, call, run_bwd, t);
}
