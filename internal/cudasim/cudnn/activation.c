/*
 * activation.c: cudnnActivationForward and cudnnActivationBackward (cuDNN 9
 * API reference, cudnn_ops library), float tensors of equal shape.
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
	float alpha, beta;
	const void *x, *y, *dy;
	void *out;
} acttask;

static void run_fwd(void *arg)
{
	const char *call = "cudnnActivationForward";
	acttask *t = arg;
	const float *x = dnn_host(t->x, t->n, call);
	float *y = dnn_host(t->out, t->n, call), *v = malloc(t->n * sizeof *v);
	if (x && y && v) {
		for (size_t i = 0; i < t->n; i++)
			v[i] = f(t->a, x[i]);
		dnn_blend(y, v, t->n, t->alpha, t->beta);
	} else if (x && y) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "out of host memory");
	}
	free(v);
}

static void run_bwd(void *arg)
{
	const char *call = "cudnnActivationBackward";
	acttask *t = arg;
	const float *x = dnn_host(t->x, t->n, call), *y = dnn_host(t->y, t->n, call), *dy = dnn_host(t->dy, t->n, call);
	float *dx = dnn_host(t->out, t->n, call);
	if (!x || !y || !dy || !dx)
		return;
	if (cudasim_strict())
		for (size_t i = 0; i < t->n; i++) {
			float want = f(t->a, x[i]);
			if (!(fabsf(want - y[i]) <= 1e-5f + 1e-5f * fabsf(want)) && !(isnan(want) && isnan(y[i]))) {
				cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call,
					"y[%zu] = %g is not the forward output of x[%zu] = %g (mode %d gives %g): "
					"x and y must be the forward pass's input and output", i, y[i], i, x[i], t->a.mode, want);
				return;
			}
		}
	float *v = malloc(t->n * sizeof *v);
	if (v == NULL) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "out of host memory");
		return;
	}
	for (size_t i = 0; i < t->n; i++)
		v[i] = df(t->a, x[i], y[i]) * dy[i];
	dnn_blend(dx, v, t->n, t->alpha, t->beta);
	free(v);
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

/* Tensors of one activation call: set, equal shapes ("the
 * dimensions/strides/data types differ" is BAD_PARAM), float NCHW (else
 * NOT_SUPPORTED in the simulator). */
static cudnnStatus_t same_shape(const char *call, cudnnTensorDescriptor_t a, cudnnTensorDescriptor_t b)
{
	if (!dnn_tensor_ok(a) || !dnn_tensor_ok(b))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a tensor descriptor is NULL or not set");
	if (a->n != b->n || a->c != b->c || a->h != b->h || a->w != b->w || a->dtype != b->dtype || a->format != b->format)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "tensors (%d,%d,%d,%d) and (%d,%d,%d,%d) differ",
			a->n, a->c, a->h, a->w, b->n, b->c, b->h, b->w);
	if (a->format != CUDNN_TENSOR_NCHW && a->format != CUDNN_TENSOR_NHWC)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "the simulator implements packed NCHW and NHWC tensors only");
	if (a->dtype != CUDNN_DATA_FLOAT)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "the simulator implements float activations only");
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnActivationForward(): y = alpha·f(x) + beta·y, "in-place operation is
 * allowed for this routine" (x == y). BAD_PARAM: mode or descriptors bad,
 * shapes or data types of x and y differ. */
DNN_API cudnnStatus_t cudnnActivationForward(cudnnHandle_t h, cudnnActivationDescriptor_t ad, const void *alpha,
	cudnnTensorDescriptor_t xd, const void *x, const void *beta, cudnnTensorDescriptor_t yd, void *y)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnActivationForward";
	cudnnStatus_t s = check_act(call, h, ad);
	if (s == CUDNN_STATUS_SUCCESS)
		s = same_shape(call, xd, yd);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (!alpha || !beta || !x || !y)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "alpha, beta, x or y is NULL");
	size_t n = shape4_len(tensor_shape(xd));
	if (x != y && (s = dnn_no_overlap(call, "y", y, n, "x", x, n)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (!dnn_check(x, n, call) || !dnn_check(y, n, call))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	acttask *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (acttask){.a = {ad->mode, ad->nan, ad->coef}, .n = n, .alpha = *(const float *)alpha, .beta = *(const float *)beta,
		.x = x, .out = y};
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
	cudnnStatus_t s = check_act(call, h, ad);
	if (s == CUDNN_STATUS_SUCCESS)
		s = same_shape(call, yd, dyd);
	if (s == CUDNN_STATUS_SUCCESS)
		s = same_shape(call, xd, dxd);
	if (s == CUDNN_STATUS_SUCCESS)
		s = same_shape(call, xd, yd);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (!alpha || !beta || !x || !y || !dy || !dx)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "alpha, beta, x, y, dy or dx is NULL");
	size_t n = shape4_len(tensor_shape(xd));
	if ((dx != dy && (s = dnn_no_overlap(call, "dx", dx, n, "dy", dy, n)) != CUDNN_STATUS_SUCCESS) ||
		(s = dnn_no_overlap(call, "dx", dx, n, "y", y, n)) != CUDNN_STATUS_SUCCESS ||
		(s = dnn_no_overlap(call, "dx", dx, n, "x", x, n)) != CUDNN_STATUS_SUCCESS)
		return s;
	if (!dnn_check(x, n, call) || !dnn_check(y, n, call) || !dnn_check(dy, n, call) || !dnn_check(dx, n, call))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	acttask *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (acttask){.a = {ad->mode, ad->nan, ad->coef}, .n = n, .alpha = *(const float *)alpha, .beta = *(const float *)beta,
		.x = x, .y = y, .dy = dy, .out = dx};
	return dnn_enqueue(h, call, run_bwd, t);
}
