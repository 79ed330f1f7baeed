/*
 * activation.c: cudnnActivationForward and cudnnActivationBackward (cuDNN 9
 * API reference, cudnn_ops library), tensors of equal shape and data type
 * (FLOAT, HALF or BFLOAT16, packed NCHW or NHWC, each its own: io.c),
 * computed in float, alpha and beta float.
 *
 * Modes (cudnnActivationMode_t): SIGMOID, RELU, TANH, CLIPPED_RELU (coef is
 * the clipping threshold), ELU (coef is alpha). IDENTITY "does not work with
 * cudnnActivationForward() or cudnnActivationBackward()" and is BAD_PARAM;
 * SWISH needs cudnnSetActivationDescriptorSwishBeta, which the simulator does
 * not implement, so it is NOT_SUPPORTED. reluNanOpt decides whether a NaN
 * input of the ReLU family comes out as NaN (CUDNN_PROPAGATE_NAN) or as 0.
 *
 * Strict mode checks that the backward pass's y is the forward's output of
 * its x (y = f(x) within float rounding), since cuDNN reads both and a GPU
 * would silently use a mismatched pair.
 */
#include <math.h>
#include <stdlib.h>

#include "dnn.h"

typedef struct {
	int mode, nan;
	double coef;
} act;

static float f(act a, float x)
{
	if (isnan(x))
		return (a.nan == CUDNN_PROPAGATE_NAN || a.mode == CUDNN_ACTIVATION_SIGMOID || a.mode == CUDNN_ACTIVATION_TANH ||
			a.mode == CUDNN_ACTIVATION_ELU) ? x : 0.0f;
	switch (a.mode) {
	case CUDNN_ACTIVATION_SIGMOID: return 1.0f / (1.0f + expf(-x));
	case CUDNN_ACTIVATION_RELU: return x > 0 ? x : 0.0f;
	case CUDNN_ACTIVATION_TANH: return tanhf(x);
	case CUDNN_ACTIVATION_CLIPPED_RELU: return x > 0 ? (x < a.coef ? x : (float)a.coef) : 0.0f;
	default: return x > 0 ? x : (float)(a.coef * expm1(x)); /* ELU */
	}
}

/* f'(x) as cuDNN's backward computes it from the forward pair (x, y). */
static float df(act a, float x, float y)
{
	switch (a.mode) {
	case CUDNN_ACTIVATION_SIGMOID: return y * (1.0f - y);
	case CUDNN_ACTIVATION_RELU: return x > 0 ? 1.0f : 0.0f;
	case CUDNN_ACTIVATION_TANH: return 1.0f - y * y;
	case CUDNN_ACTIVATION_CLIPPED_RELU: return x > 0 && x < a.coef ? 1.0f : 0.0f;
	default: return x > 0 ? 1.0f : (float)(y + a.coef); /* ELU: α·eˣ = y + α */
	}
}

typedef struct {
	act a;
	size_t n;
	tview xv, yv, dyv, dxv;
	float alpha, beta;
	const void *x, *y, *dy;
	void *out;
} acttask;

static void run_fwd(void *arg)
{
	const char *call = "cudnnActivationForward";
	acttask *t = arg;
	float *ox, *v = malloc((t->n ? t->n : 1) * sizeof *v);
	const float *x = view_read(t->x, &t->xv, call, &ox);
	if (x != NULL && v == NULL)
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "out of host memory");
	if (x != NULL && v != NULL) {
		for (size_t i = 0; i < t->n; i++)
			v[i] = f(t->a, x[i]);
		view_scatter(t->out, &t->yv, v, t->alpha, t->beta, call);
	}
	free(ox), free(v);
}

/* How far a stored y may be from f(x) computed here: float rounding of a
 * differently written f, plus the storage type's rounding (unit roundoff
 * 2^-8 for bfloat16, 2^-11 for float16, whose subnormals are 2^-24 apart). */
static int close_to(int dtype, float want, float y)
{
	if (isnan(want) && isnan(y))
		return 1;
	float rel = dtype == CUDNN_DATA_BFLOAT16 ? 0x1p-8f : dtype == CUDNN_DATA_HALF ? 0x1p-11f : 0.0f;
	float abs_ = dtype == CUDNN_DATA_HALF ? 0x1p-24f : 0.0f;
	if (isinf(want) || isinf(y))
		return want == y || (dtype == CUDNN_DATA_HALF && fabsf(want) >= 65504.0f && isinf(y) && (want > 0) == (y > 0));
	return fabsf(want - y) <= 1e-5f + 1e-5f * fabsf(want) + rel * fabsf(want) + abs_;
}

static void run_bwd(void *arg)
{
	const char *call = "cudnnActivationBackward";
	acttask *t = arg;
	float *ox = NULL, *oy = NULL, *ody = NULL, *v = NULL;
	const float *x = view_read(t->x, &t->xv, call, &ox), *y = x ? view_read(t->y, &t->yv, call, &oy) : NULL;
	const float *dy = y ? view_read(t->dy, &t->dyv, call, &ody) : NULL;
	if (dy == NULL)
		goto done;
	if (cudasim_strict())
		for (size_t i = 0; i < t->n; i++) {
			float want = f(t->a, x[i]);
			if (!close_to(t->yv.dtype, want, y[i])) {
				cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call,
					"y[%zu] = %g is not the forward output of x[%zu] = %g (mode %d gives %g): "
					"x and y must be the forward pass's input and output", i, y[i], i, x[i], t->a.mode, want);
				goto done;
			}
		}
	if ((v = malloc((t->n ? t->n : 1) * sizeof *v)) == NULL) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "out of host memory");
		goto done;
	}
	for (size_t i = 0; i < t->n; i++)
		v[i] = df(t->a, x[i], y[i]) * dy[i];
	view_scatter(t->out, &t->dxv, v, t->alpha, t->beta, call);
done:
	free(ox), free(oy), free(ody), free(v);
}

static cudnnStatus_t check_act(const char *call, cudnnHandle_t h, cudnnActivationDescriptor_t ad)
{
	if (!dnn_handle_ok(h))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live cuDNN handle");
	if (!dnn_act_ok(ad))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "activation descriptor is NULL or not set");
	if (ad->mode == CUDNN_ACTIVATION_IDENTITY)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "CUDNN_ACTIVATION_IDENTITY does not work with this function");
	if (ad->mode == CUDNN_ACTIVATION_SWISH)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "the simulator does not implement CUDNN_ACTIVATION_SWISH");
	return CUDNN_STATUS_SUCCESS;
}

/* Tensors of one activation call: set, equal dimensions and data types
 * (BAD_PARAM: "the dimensions n, c, h, w of the input tensor and output
 * tensor differ", "the datatype of the input tensor and output tensor
 * differs"); their strides may differ, each is read or written in its own
 * layout, except in place (same pointer), where "the strides ... differ and
 * in-place operation is used" is BAD_PARAM. What io.c does not compute is
 * NOT_SUPPORTED. */
static cudnnStatus_t same_shape(const char *call, const char *an, cudnnTensorDescriptor_t a, tview *av, const char *bn,
	cudnnTensorDescriptor_t b, tview *bv)
{
	if (!dnn_tensor_ok(a) || !dnn_tensor_ok(b))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a tensor descriptor is NULL or not set");
	if (a->n != b->n || a->c != b->c || a->h != b->h || a->w != b->w || a->dtype != b->dtype)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "%s (%d,%d,%d,%d; %s) and %s (%d,%d,%d,%d; %s) differ",
			an, a->n, a->c, a->h, a->w, dtype_name(a->dtype), bn, b->n, b->c, b->h, b->w, dtype_name(b->dtype));
	cudnnStatus_t s = tensor_view(call, an, a, av);
	if (s == CUDNN_STATUS_SUCCESS)
		s = tensor_view(call, bn, b, bv);
	return s;
}

static int same_strides(const tview *a, const tview *b)
{
	return a->st[0] == b->st[0] && a->st[1] == b->st[1] && a->st[2] == b->st[2] && a->st[3] == b->st[3];
}

/* cudnnActivationForward(): y = alpha·f(x) + beta·y, "in-place operation is
 * allowed for this routine" (x == y). BAD_PARAM: mode or descriptors bad,
 * shapes or data types of x and y differ. */
DNN_API cudnnStatus_t cudnnActivationForward(cudnnHandle_t h, cudnnActivationDescriptor_t ad, const void *alpha,
	cudnnTensorDescriptor_t xd, const void *x, const void *beta, cudnnTensorDescriptor_t yd, void *y)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnActivationForward";
	tview xv, yv;
	cudnnStatus_t s = check_act(call, h, ad);
	if (s == CUDNN_STATUS_SUCCESS)
		s = same_shape(call, "x", xd, &xv, "y", yd, &yv);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (!alpha || !beta || !x || !y)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "alpha, beta, x or y is NULL");
	size_t n = view_len(&xv);
	if (x == y && !same_strides(&xv, &yv))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "in place (x == y) with x and y in different layouts");
	if (x != y && (s = dnn_no_overlap_views(call, "y", y, &yv, "x", x, &xv)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (!view_check(x, &xv, call) || !view_check(y, &yv, call))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	acttask *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (acttask){.a = {ad->mode, ad->nan, ad->coef}, .n = n, .xv = xv, .yv = yv, .alpha = *(const float *)alpha,
		.beta = *(const float *)beta, .x = x, .out = y};
	return dnn_enqueue(h, call, run_fwd, t);
}

/* cudnnActivationBackward(): dx = alpha·f'(x)·dy + beta·dx, from the forward
 * input x and output y; "in-place operation is allowed" (dy == dx).
 * BAD_PARAM: descriptors bad, shapes of x/dx or y/dy differ. */
DNN_API cudnnStatus_t cudnnActivationBackward(cudnnHandle_t h, cudnnActivationDescriptor_t ad, const void *alpha,
	cudnnTensorDescriptor_t yd, const void *y, cudnnTensorDescriptor_t dyd, const void *dy, cudnnTensorDescriptor_t xd,
	const void *x, const void *beta, cudnnTensorDescriptor_t dxd, void *dx)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnActivationBackward";
	tview xv, yv, dyv, dxv;
	cudnnStatus_t s = check_act(call, h, ad);
	if (s == CUDNN_STATUS_SUCCESS)
		s = same_shape(call, "y", yd, &yv, "dy", dyd, &dyv);
	if (s == CUDNN_STATUS_SUCCESS)
		s = same_shape(call, "x", xd, &xv, "dx", dxd, &dxv);
	if (s == CUDNN_STATUS_SUCCESS)
		s = same_shape(call, "x", xd, &xv, "y", yd, &yv);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (!alpha || !beta || !x || !y || !dy || !dx)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "alpha, beta, x, y, dy or dx is NULL");
	size_t n = view_len(&xv);
	if (dx == dy && !same_strides(&dxv, &dyv))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "in place (dy == dx) with dy and dx in different layouts");
	if ((dx != dy && (s = dnn_no_overlap_views(call, "dx", dx, &dxv, "dy", dy, &dyv)) != CUDNN_STATUS_SUCCESS) ||
		(s = dnn_no_overlap_views(call, "dx", dx, &dxv, "y", y, &yv)) != CUDNN_STATUS_SUCCESS ||
		(s = dnn_no_overlap_views(call, "dx", dx, &dxv, "x", x, &xv)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (!view_check(x, &xv, call) || !view_check(y, &yv, call) || !view_check(dy, &dyv, call) || !view_check(dx, &dxv, call))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	acttask *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (acttask){.a = {ad->mode, ad->nan, ad->coef}, .n = n, .xv = xv, .yv = yv, .dyv = dyv, .dxv = dxv,
		.alpha = *(const float *)alpha, .beta = *(const float *)beta, .x = x, .y = y, .dy = dy, .out = dx};
	return dnn_enqueue(h, call, run_bwd, t);
}
