/*
 * convdesc.c: convolution descriptors (2-d and N-d, set and get, math type)
 * and the forward output shape (cudnn_cnn library of the cuDNN 9 API
 * reference).
 *
 * Where the reference is silent, the behaviour is NVIDIA's real cuDNN's as
 * measured without a GPU by TestSimulatorCUDNNMatchesReal
 * (../testdata/cudnn_calls.c) against cuDNN 9.10.2 (CUDA 12 wheel) and
 * 9.28.1 (CUDA 13 wheel), which agree on every case quoted here. Only 2-d
 * convolutions compute; an N-d descriptor is refused by computations.
 */
#include <stdlib.h>

#include "dnn.h"

/* cudnnCreateConvolutionDescriptor(): math type CUDNN_DEFAULT_MATH until set;
 * a never set descriptor reads as zeros with 0 spatial dimensions (measured). */
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

/* The compute types the setters accept (measured): FLOAT, DOUBLE, HALF and
 * INT32; INT8, BFLOAT16 and the others are BAD_PARAM ("mode=1 compute=9 ->
 * BAD_PARAM"). */
static int compute_type_ok(int t)
{
	return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_DOUBLE || t == CUDNN_DATA_HALF || t == CUDNN_DATA_INT32;
}

/* set_conv is cudnnSetConvolution2dDescriptor (len 2) and
 * cudnnSetConvolutionNdDescriptor. BAD_PARAM, as the reference says, if "the
 * descriptor convDesc is NIL; one of the parameters pad_h, pad_w is strictly
 * negative; one of the parameters u, v is negative or zero; one of the
 * parameters dilation_h, dilation_w is negative or zero; the parameter mode
 * has an invalid enumerant value"; also for a compute type cuDNN does not
 * accept and a negative arrayLength; NOT_SUPPORTED for an arrayLength above
 * CUDNN_DIM_MAX - 2 (measured: 6 is SUCCESS, 7 NOT_SUPPORTED). The math type
 * set earlier by cudnnSetConvolutionMathType is kept.
 *
 * A failed set is not atomic in the real cuDNN (measured): the length, mode
 * and compute type are checked first and a bad one changes nothing;
 * otherwise mode, compute type and length are stored, then for each
 * dimension in turn the padding, the stride and the dilation are each
 * stored and checked, so the values up to the bad one stay ("set pad=1,1
 * stride=2,2 dil=1,1 mode=1, then pad=3,4 stride=0,6 dil=2,3 mode=0 fails and
 * leaves pad=3,1 stride=0,2 dil=1,1 mode=0"). The simulator keeps the same
 * values, so that the getters answer the same, and refuses the half-written
 * descriptor in computations. */
static cudnnStatus_t set_conv(cudnnConvolutionDescriptor_t d, const char *call, int len, const int *pad, const int *stride,
	const int *dil, int mode, int compute)
{
	if (d == NULL || d->magic != MAGIC_CONV)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a convolution descriptor");
	if (len < 0)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "arrayLength %d is negative", len);
	if (len > CONV_DIM_MAX)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "arrayLength %d is above CUDNN_DIM_MAX-2 (6)", len);
	if (pad == NULL || stride == NULL || dil == NULL) /* the real cuDNN crashes */
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "padA, filterStrideA or dilationA is NULL");
	if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "mode %d is not an enumerant", mode);
	if (!compute_type_ok(compute))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "compute type %d is not FLOAT, DOUBLE, HALF or INT32", compute);
	d->mode = mode, d->compute = compute, d->len = len;
	for (int i = 0; i < len; i++) {
		d->pad[i] = pad[i];
		if (pad[i] < 0) {
			d->set = 0;
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "padding %d of dimension %d is negative", pad[i], i);
		}
		d->stride[i] = stride[i];
		if (stride[i] <= 0) {
			d->set = 0;
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "stride %d of dimension %d must be positive", stride[i], i);
		}
		d->dil[i] = dil[i];
		if (dil[i] <= 0) {
			d->set = 0;
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dilation %d of dimension %d must be positive", dil[i], i);
		}
	}
	for (int i = len; i < CONV_DIM_MAX; i++) /* read as zeros past the length (measured) */
		d->pad[i] = d->stride[i] = d->dil[i] = 0;
	d->pad_h = d->pad[0], d->pad_w = d->pad[1], d->u = d->stride[0], d->v = d->stride[1];
	d->dil_h = d->dil[0], d->dil_w = d->dil[1];
	d->set = 1;
	return CUDNN_STATUS_SUCCESS;
}

DNN_API cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
	int dil_h, int dil_w, int mode, int compute)
{
	CUDASIM_API_CALL();
	const int pad[2] = {pad_h, pad_w}, stride[2] = {u, v}, dil[2] = {dil_h, dil_w};
	return set_conv(d, "cudnnSetConvolution2dDescriptor", 2, pad, stride, dil, mode, compute);
}

DNN_API cudnnStatus_t cudnnSetConvolutionNdDescriptor(cudnnConvolutionDescriptor_t d, int len, const int *pad, const int *stride,
	const int *dil, int mode, int compute)
{
	CUDASIM_API_CALL();
	return set_conv(d, "cudnnSetConvolutionNdDescriptor", len, pad, stride, dil, mode, compute);
}

/* cudnnGetConvolution2dDescriptor(): the first two dimensions' values stored
 * by the last set, even a failed one, zeros past the length or when never
 * set (measured). NULL outputs are BAD_PARAM here, a crash in the real cuDNN. */
DNN_API cudnnStatus_t cudnnGetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int *pad_h, int *pad_w, int *u, int *v,
	int *dil_h, int *dil_w, int *mode, int *compute)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetConvolution2dDescriptor";
	if (d == NULL || d->magic != MAGIC_CONV)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a convolution descriptor");
	if (!pad_h || !pad_w || !u || !v || !dil_h || !dil_w || !mode || !compute)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL (the real cuDNN crashes)");
	*pad_h = d->pad[0], *pad_w = d->pad[1], *u = d->stride[0], *v = d->stride[1], *dil_h = d->dil[0], *dil_w = d->dil[1];
	*mode = d->mode, *compute = d->compute;
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetConvolutionNdDescriptor(desc, arrayLengthRequested, ...): the
 * length, mode, compute type and the first arrayLengthRequested values of
 * each array (zeros past the length). Measured: a negative request is
 * BAD_PARAM, one above CUDNN_DIM_MAX - 2 NOT_SUPPORTED, 0 SUCCESS writing no
 * array element. */
DNN_API cudnnStatus_t cudnnGetConvolutionNdDescriptor(cudnnConvolutionDescriptor_t d, int requested, int *len, int *pad,
	int *stride, int *dil, int *mode, int *compute)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetConvolutionNdDescriptor";
	if (d == NULL || d->magic != MAGIC_CONV || requested < 0)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a convolution descriptor, or arrayLengthRequested %d < 0", requested);
	if (requested > CONV_DIM_MAX)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "arrayLengthRequested %d is above CUDNN_DIM_MAX-2 (6)", requested);
	if (!len || !mode || !compute || (requested > 0 && (!pad || !stride || !dil)))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL");
	*len = d->len, *mode = d->mode, *compute = d->compute;
	for (int i = 0; i < requested; i++)
		pad[i] = d->pad[i], stride[i] = d->stride[i], dil[i] = d->dil[i];
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

/* cudnnGetConvolutionMathType(): a NULL math is BAD_PARAM here, a crash in
 * the real cuDNN. */
DNN_API cudnnStatus_t cudnnGetConvolutionMathType(cudnnConvolutionDescriptor_t d, int *math)
{
	CUDASIM_API_CALL();
	if (d == NULL || d->magic != MAGIC_CONV || math == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, "cudnnGetConvolutionMathType", "bad descriptor or NULL output");
	*math = d->math;
	return CUDNN_STATUS_SUCCESS;
}

/* output_dim is the forward output shape of x under w and cd, in out[0..nb):
 * "each dimension h and w of the output images is computed as follows:
 * outputDim = 1 + ( inputDim + 2*pad - (((filterDim-1)*dilation)+1)
 * )/convolutionStride" (cudnnGetConvolution2dForwardOutputDim); n is x's and
 * c the filter's k. BAD_PARAM (measured) for a NULL or never set descriptor,
 * x and the filter not both of the convolution's length + 2 dimensions, their
 * channels differing, and a dilated filter larger than the padded input
 * (1x1 input, 3x3 filter, stride 3 is BAD_PARAM, not the 1 that C's
 * truncating division would give). Data types, formats and x's strides are
 * not compared (measured: float x with a double filter is SUCCESS). */
static cudnnStatus_t output_dim(const char *call, cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t xd,
	cudnnFilterDescriptor_t wd, int out[CUDNN_DIM_MAX])
{
	if (!dnn_conv_ok(cd) || !dnn_tensor_ok(xd) || !dnn_filter_ok(wd))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a descriptor is NULL or not set");
	int nb = cd->len + 2;
	if (xd->nb != nb || wd->nb != nb)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "x has %d dimensions, the filter %d, the convolution %d spatial ones",
			xd->nb, wd->nb, cd->len);
	if (xd->dims[1] != wd->dims[1])
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "x has %d feature maps, the filter %d", xd->dims[1], wd->dims[1]);
	out[0] = xd->dims[0], out[1] = wd->dims[0];
	for (int i = 0; i < cd->len; i++) {
		long eff = (long)(wd->dims[i + 2] - 1) * cd->dil[i] + 1, in = (long)xd->dims[i + 2] + 2L * cd->pad[i];
		if (eff > in)
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dimension %d: the dilated filter (%ld) is larger than the padded input (%ld)",
				i + 2, eff, in);
		out[i + 2] = (int)(1 + (in - eff) / cd->stride[i]);
	}
	return CUDNN_STATUS_SUCCESS;
}

DNN_API cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t xd,
	cudnnFilterDescriptor_t wd, int *n, int *c, int *h, int *w)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetConvolution2dForwardOutputDim";
	if (!n || !c || !h || !w)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL (the real cuDNN crashes)");
	int out[CUDNN_DIM_MAX];
	cudnnStatus_t s = output_dim(call, cd, xd, wd, out);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	*n = out[0], *c = out[1], *h = out[2], *w = out[3];
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetConvolutionNdForwardOutputDim(convDesc, xDesc, wDesc, nbDims,
 * tensorOuputDimA): measured, nbDims below 0 or above x's dimensions is
 * BAD_PARAM, and so is a NULL array; otherwise n and c are always written
 * (even for nbDims 0 and 1), then the spatial sizes up to nbDims ("nbDims=3
 * -> dims=2,4,4" for a 4-d x). */
DNN_API cudnnStatus_t cudnnGetConvolutionNdForwardOutputDim(cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t xd,
	cudnnFilterDescriptor_t wd, int nbDims, int *dims)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetConvolutionNdForwardOutputDim";
	int out[CUDNN_DIM_MAX];
	cudnnStatus_t s = output_dim(call, cd, xd, wd, out);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	if (nbDims < 0 || nbDims > xd->nb || dims == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "nbDims %d is not in [0,%d] or the array is NULL", nbDims, xd->nb);
	for (int i = 0; i < (nbDims > 2 ? nbDims : 2); i++)
		dims[i] = out[i];
	return CUDNN_STATUS_SUCCESS;
}
