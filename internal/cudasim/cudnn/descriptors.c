/*
 * descriptors.c: tensor, filter, convolution and activation descriptors, with
 * the validation the cuDNN 9 API reference documents for each setter
 * (cudnn_graph library for tensors and filters' data, cudnn_cnn for
 * convolutions, cudnn_ops for activations).
 */
#include <stdlib.h>

#include "dnn.h"

#define CREATE(T, tag, magic_, call)                                                          \
	if (d == NULL)                                                                        \
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "descriptor pointer is NULL");   \
	T *p = calloc(1, sizeof *p);                                                          \
	if (p == NULL)                                                                        \
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory"); \
	p->magic = magic_;                                                                    \
	*d = p;                                                                               \
	return CUDNN_STATUS_SUCCESS;

#define DESTROY(magic_, call)                                                                 \
	if (d == NULL)                                                                        \
		return CUDNN_STATUS_SUCCESS; /* destroying NULL is a no-op, as free() */      \
	if (d->magic != magic_)                                                               \
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a live descriptor of this kind"); \
	d->magic = 0;                                                                         \
	free(d);                                                                              \
	return CUDNN_STATUS_SUCCESS;

static int valid_dtype(int t) { return t >= CUDNN_DATA_FLOAT && t <= CUDNN_DATA_LAST_KNOWN; }
static int valid_format(int f) { return f >= CUDNN_TENSOR_NCHW && f <= CUDNN_TENSOR_NCHW_VECT_C; }

/* cudnnCreateTensorDescriptor(): BAD_PARAM for a NULL pointer. */
DNN_API cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d)
{
	CUDASIM_API_CALL();
	CREATE(struct cudnnTensorStruct, tensor, MAGIC_TENSOR, "cudnnCreateTensorDescriptor")
}

DNN_API cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d)
{
	CUDASIM_API_CALL();
	DESTROY(MAGIC_TENSOR, "cudnnDestroyTensorDescriptor")
}

/* cudnnSetTensor4dDescriptor(): BAD_PARAM "if at least one of the parameters
 * n, c, h, w was negative or format has an invalid enumerant value or
 * dataType has an invalid enumerant value"; NOT_SUPPORTED "if the total size
 * of the tensor descriptor exceeds the maximum limit of 2 Giga-elements".
 * A zero dimension is refused too (cuDNN's "fully packed" tensors need every
 * dimension positive). */
DNN_API cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, int format, int dtype, int n, int c, int h, int w)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnSetTensor4dDescriptor";
	if (d == NULL || d->magic != MAGIC_TENSOR)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a tensor descriptor");
	if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dimensions (%d,%d,%d,%d) must be positive", n, c, h, w);
	if (!valid_format(format) || !valid_dtype(dtype))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "format %d or data type %d is not an enumerant", format, dtype);
	if ((double)n * c * h * w > 2147483647.0)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "(%d,%d,%d,%d) exceeds 2 Giga-elements", n, c, h, w);
	d->format = format, d->dtype = dtype;
	d->n = n, d->c = c, d->h = h, d->w = w;
	d->set = 1;
	return CUDNN_STATUS_SUCCESS;
}

DNN_API cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d)
{
	CUDASIM_API_CALL();
	CREATE(struct cudnnFilterStruct, filter, MAGIC_FILTER, "cudnnCreateFilterDescriptor")
}

DNN_API cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d)
{
	CUDASIM_API_CALL();
	DESTROY(MAGIC_FILTER, "cudnnDestroyFilterDescriptor")
}

/* cudnnSetFilter4dDescriptor(filterDesc, dataType, format, k, c, h, w) — data
 * type before format, unlike the tensor setter. BAD_PARAM "if at least one of
 * the parameters k, c, h, w is negative or dataType or format has an invalid
 * enumerant value". With format CUDNN_TENSOR_NCHW the layout is KCRS. */
DNN_API cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, int dtype, int format, int k, int c, int h, int w)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnSetFilter4dDescriptor";
	if (d == NULL || d->magic != MAGIC_FILTER)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a filter descriptor");
	if (k <= 0 || c <= 0 || h <= 0 || w <= 0)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dimensions (%d,%d,%d,%d) must be positive", k, c, h, w);
	if (!valid_format(format) || !valid_dtype(dtype))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "data type %d or format %d is not an enumerant", dtype, format);
	d->format = format, d->dtype = dtype;
	d->k = k, d->c = c, d->h = h, d->w = w;
	d->set = 1;
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnCreateConvolutionDescriptor(): math type CUDNN_DEFAULT_MATH until set. */
DNN_API cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d)
{
	CUDASIM_API_CALL();
	CREATE(struct cudnnConvolutionStruct, conv, MAGIC_CONV, "cudnnCreateConvolutionDescriptor")
}

DNN_API cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d)
{
	CUDASIM_API_CALL();
	DESTROY(MAGIC_CONV, "cudnnDestroyConvolutionDescriptor")
}

/* cudnnSetConvolution2dDescriptor(): BAD_PARAM if "the descriptor convDesc is
 * NIL; one of the parameters pad_h, pad_w is strictly negative; one of the
 * parameters u, v is negative or zero; one of the parameters dilation_h,
 * dilation_w is negative or zero; the parameter mode has an invalid
 * enumerant value". computeType must be an enumerant too. The math type set
 * earlier by cudnnSetConvolutionMathType is kept. */
DNN_API cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
	int dil_h, int dil_w, int mode, int compute)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnSetConvolution2dDescriptor";
	if (d == NULL || d->magic != MAGIC_CONV)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a convolution descriptor");
	if (pad_h < 0 || pad_w < 0)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "negative padding (%d,%d)", pad_h, pad_w);
	if (u <= 0 || v <= 0)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "stride (%d,%d) must be positive", u, v);
	if (dil_h <= 0 || dil_w <= 0)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dilation (%d,%d) must be positive", dil_h, dil_w);
	if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "mode %d is not an enumerant", mode);
	if (!valid_dtype(compute))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "compute type %d is not an enumerant", compute);
	d->pad_h = pad_h, d->pad_w = pad_w, d->u = u, d->v = v, d->dil_h = dil_h, d->dil_w = dil_w;
	d->mode = mode, d->compute = compute;
	d->set = 1;
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnSetConvolutionMathType(): "allows the user to specify whether or not
 * the use of tensor op is permitted"; BAD_PARAM for an invalid math type. */
DNN_API cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, int math)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnSetConvolutionMathType";
	if (d == NULL || d->magic != MAGIC_CONV)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a convolution descriptor");
	if (math < CUDNN_DEFAULT_MATH || math > CUDNN_FMA_MATH)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "math type %d is not an enumerant", math);
	d->math = math;
	return CUDNN_STATUS_SUCCESS;
}

DNN_API cudnnStatus_t cudnnGetConvolutionMathType(cudnnConvolutionDescriptor_t d, int *math)
{
	CUDASIM_API_CALL();
	if (d == NULL || d->magic != MAGIC_CONV || math == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, "cudnnGetConvolutionMathType", "bad descriptor or NULL output");
	*math = d->math;
	return CUDNN_STATUS_SUCCESS;
}

DNN_API cudnnStatus_t cudnnCreateActivationDescriptor(cudnnActivationDescriptor_t *d)
{
	CUDASIM_API_CALL();
	CREATE(struct cudnnActivationStruct, act, MAGIC_ACT, "cudnnCreateActivationDescriptor")
}

DNN_API cudnnStatus_t cudnnDestroyActivationDescriptor(cudnnActivationDescriptor_t d)
{
	CUDASIM_API_CALL();
	DESTROY(MAGIC_ACT, "cudnnDestroyActivationDescriptor")
}

/* cudnnSetActivationDescriptor(desc, mode, reluNanOpt, coef): BAD_PARAM if
 * "mode or reluNanOpt has an invalid enumerant value". coef is the clipping
 * threshold for CLIPPED_RELU and alpha for ELU; a negative clipping threshold
 * or ELU alpha makes no function, so it is refused as well. */
DNN_API cudnnStatus_t cudnnSetActivationDescriptor(cudnnActivationDescriptor_t d, int mode, int nan, double coef)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnSetActivationDescriptor";
	if (d == NULL || d->magic != MAGIC_ACT)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not an activation descriptor");
	if (mode < CUDNN_ACTIVATION_SIGMOID || mode > CUDNN_ACTIVATION_SWISH)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "mode %d is not an enumerant", mode);
	if (nan != CUDNN_NOT_PROPAGATE_NAN && nan != CUDNN_PROPAGATE_NAN)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "reluNanOpt %d is not an enumerant", nan);
	if ((mode == CUDNN_ACTIVATION_CLIPPED_RELU || mode == CUDNN_ACTIVATION_ELU) && !(coef >= 0))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "coef %g must be non-negative for mode %d", coef, mode);
	d->mode = mode, d->nan = nan, d->coef = coef;
	d->set = 1;
	return CUDNN_STATUS_SUCCESS;
}
