/*
 * descriptors.c: tensor, filter, convolution and activation descriptors, with
 * the validation the cuDNN 9 API reference documents for each setter
 * (cudnn_graph library for tensors and filters' data, cudnn_cnn for
 * convolutions, cudnn_ops for activations), and the getters.
 *
 * Where the reference is silent, the behaviour is NVIDIA's real cuDNN's as
 * measured without a GPU by TestSimulatorCUDNNMatchesReal
 * (../testdata/cudnn_calls.c) against cuDNN 9.10.2 (CUDA 12 wheel) and
 * 9.28.1 (CUDA 13 wheel), which agree on every case quoted here.
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

/* The bytes of one element of each data type the 4-d setters accept
 * (cudnnDataType_t 0..9: FLOAT, DOUBLE, HALF, INT8, INT32, INT8x4, UINT8,
 * UINT8x4, INT8x32, BFLOAT16); a vector type's element is its vector, as
 * cudnnGetTensorSizeInBytes counts it (measured: an NCHW INT8x32 tensor of
 * 240 elements is 7680 bytes). */
static const int dtype_bytes[] = {4, 8, 2, 1, 4, 4, 1, 4, 32, 2};

/* The channels of one vector of an NCHW_VECT_C data type, 0 for the others. */
static int vect_width(int dtype)
{
	return dtype == CUDNN_DATA_INT8x4 || dtype == CUDNN_DATA_UINT8x4 ? 4 : dtype == CUDNN_DATA_INT8x32 ? 32 : 0;
}

/* Which (format, data type) pairs cudnnSetTensor4dDescriptor accepts, as
 * cuDNN 9.10.2 and 9.28.1 answer: NCHW and NHWC take FLOAT through BFLOAT16
 * (0..9) and refuse INT64 and the later types (BAD_PARAM, e.g.
 * "cudnnSetTensor4dDescriptor(fmt=0, dtype=10, 2,8,3,5) -> BAD_PARAM");
 * NCHW_VECT_C takes only the vector types, with c a multiple of the vector
 * ("fmt=2, dtype=5, 2,6,3,5 -> BAD_PARAM", "fmt=2, dtype=0 -> BAD_PARAM"). */
static int tensor_type_ok(int format, int dtype, int c)
{
	if (format == CUDNN_TENSOR_NCHW || format == CUDNN_TENSOR_NHWC)
		return dtype >= CUDNN_DATA_FLOAT && dtype <= CUDNN_DATA_BFLOAT16;
	if (format == CUDNN_TENSOR_NCHW_VECT_C)
		return vect_width(dtype) != 0 && c % vect_width(dtype) == 0;
	return 0;
}

/* cudnnSetFilter4dDescriptor's pairs (measured as above): NCHW and NHWC
 * take 0..9 except INT32 ("dtype=4, fmt=0, 4,8,3,3 -> BAD_PARAM"); NCHW_VECT_C
 * takes the three vector types, whatever c is ("dtype=5, fmt=2, 4,3,3,3 ->
 * SUCCESS"). */
static int filter_type_ok(int format, int dtype)
{
	if (format == CUDNN_TENSOR_NCHW || format == CUDNN_TENSOR_NHWC)
		return dtype >= CUDNN_DATA_FLOAT && dtype <= CUDNN_DATA_BFLOAT16 && dtype != CUDNN_DATA_INT32;
	return format == CUDNN_TENSOR_NCHW_VECT_C && vect_width(dtype) != 0;
}

/* The compute types cudnnSetConvolution2dDescriptor accepts (measured):
 * FLOAT, DOUBLE, HALF and INT32; INT8, BFLOAT16 and the others are BAD_PARAM
 * ("mode=1 compute=9 -> BAD_PARAM"). */
static int compute_type_ok(int t)
{
	return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_DOUBLE || t == CUDNN_DATA_HALF || t == CUDNN_DATA_INT32;
}

static void tensor_strides(cudnnTensorDescriptor_t d, int st[4]);

/* The bytes of d's layout: the elements its strides span, 1 + sum of
 * (dim-1)·|stride| (measured: 2,3,4,5 with strides 100,30,6,1 is 732 bytes
 * of float), of the data type's size; NCHW_VECT_C counts n·nStride vectors. */
size_t tensor_bytes(cudnnTensorDescriptor_t d)
{
	if (d->format == CUDNN_TENSOR_NCHW_VECT_C)
		return (size_t)d->dims[0] * (size_t)d->strides[0] * (size_t)dtype_bytes[d->dtype];
	size_t span = 1;
	for (int i = 0; i < d->nb; i++)
		span += (size_t)(d->dims[i] - 1) * (size_t)abs(d->strides[i]);
	return span * (size_t)dtype_bytes[d->dtype];
}

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
 * of the tensor descriptor exceeds the maximum limit of 2 Giga-elements"
 * (measured: more than 2^31-1 elements, "1,2,1,1073741823 -> SUCCESS",
 * "2,1,1,1073741824 -> NOT_SUPPORTED"). A zero dimension is BAD_PARAM too, and
 * a failed set leaves the descriptor as it was (both measured). */
DNN_API cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, int format, int dtype, int n, int c, int h, int w)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnSetTensor4dDescriptor";
	if (d == NULL || d->magic != MAGIC_TENSOR)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a tensor descriptor");
	if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dimensions (%d,%d,%d,%d) must be positive", n, c, h, w);
	if (!tensor_type_ok(format, dtype, c))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "format %d with data type %d (and %d channels) is not a tensor cuDNN accepts",
			format, dtype, c);
	if ((double)n * c * h * w > 2147483647.0)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "(%d,%d,%d,%d) exceeds 2 Giga-elements", n, c, h, w);
	d->format = format, d->dtype = dtype;
	d->n = n, d->c = c, d->h = h, d->w = w;
	d->nb = 4;
	d->dims[0] = n, d->dims[1] = format == CUDNN_TENSOR_NCHW_VECT_C ? c / vect_width(dtype) : c, d->dims[2] = h, d->dims[3] = w;
	tensor_strides(d, d->strides);
	d->bytes = tensor_bytes(d);
	d->set = 1;
	return CUDNN_STATUS_SUCCESS;
}

/* set_strided is cudnnSetTensor4dDescriptorEx and cudnnSetTensorNdDescriptor
 * (nb dimensions and strides, outermost first), as cuDNN 9.10.2 and 9.28.1
 * answer (measured; the API reference says only BAD_PARAM for "an invalid
 * parameter" and NOT_SUPPORTED past CUDNN_DIM_MAX or 2 Giga-elements):
 * - nbDims below 2 is BAD_PARAM, above CUDNN_DIM_MAX NOT_SUPPORTED; a data
 *   type the 4-d setter refuses for NCHW is BAD_PARAM; these change nothing;
 * - otherwise the data type is stored, then each dimension in turn is
 *   checked and stored with its stride: a dimension of 0 or less, or a
 *   stride of 0 for a dimension above 1, is BAD_PARAM and leaves the earlier
 *   ones stored ("2,0,4,5 fails after storing n and its stride");
 * - strides may be negative, overlap or leave gaps ("strides 10,20,5,1" for
 *   2,3,4,5 is SUCCESS); more than 2^31-1 elements, or a span
 *   (1 + sum of (dim-1)·|stride|) above 2^31-1, is NOT_SUPPORTED with every
 *   value stored.
 * A descriptor a failed call has written to is refused by computations. */
static cudnnStatus_t set_strided(cudnnTensorDescriptor_t d, const char *call, int dtype, int nb, const int *dims, const int *strides)
{
	if (d == NULL || d->magic != MAGIC_TENSOR)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a tensor descriptor");
	if (nb < 2)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "nbDims %d is below 2", nb);
	if (nb > CUDNN_DIM_MAX)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "nbDims %d is above CUDNN_DIM_MAX (8)", nb);
	if (dims == NULL || strides == NULL) /* the real cuDNN crashes */
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dimA or strideA is NULL");
	if (!tensor_type_ok(CUDNN_TENSOR_NCHW, dtype, 0))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "data type %d is not one cuDNN accepts", dtype);
	d->dtype = dtype, d->format = CUDNN_TENSOR_NCHW, d->nb = nb;
	double elements = 1, span = 1;
	for (int i = 0; i < nb; i++) {
		if (dims[i] <= 0 || (strides[i] == 0 && dims[i] > 1)) {
			d->set = 0;
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dimension %d: size %d, stride %d", i, dims[i], strides[i]);
		}
		d->dims[i] = dims[i], d->strides[i] = strides[i];
		elements *= dims[i];
		span += (double)(dims[i] - 1) * abs(strides[i]);
	}
	int s4[4] = {0, 0, 0, 0};
	for (int i = 0; i < 4; i++)
		s4[i] = i < nb ? dims[i] : 0;
	d->n = s4[0], d->c = s4[1], d->h = s4[2], d->w = s4[3];
	d->bytes = tensor_bytes(d);
	if (elements > 2147483647.0 || span > 2147483647.0) {
		d->set = 0;
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "%.0f elements spanning %.0f exceed 2 Giga-elements", elements, span);
	}
	int packed = nb == 4;
	for (int i = 3, p = 1; packed && i >= 0; p *= dims[i], i--)
		packed = strides[i] == p || dims[i] == 1;
	d->format = packed ? CUDNN_TENSOR_NCHW : SIM_TENSOR_STRIDED;
	d->set = 1;
	return CUDNN_STATUS_SUCCESS;
}

DNN_API cudnnStatus_t cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t d, int dtype, int n, int c, int h, int w, int ns,
	int cs, int hs, int ws)
{
	CUDASIM_API_CALL();
	const int dims[4] = {n, c, h, w}, strides[4] = {ns, cs, hs, ws};
	return set_strided(d, "cudnnSetTensor4dDescriptorEx", dtype, 4, dims, strides);
}

DNN_API cudnnStatus_t cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t d, int dtype, int nb, const int *dims, const int *strides)
{
	CUDASIM_API_CALL();
	return set_strided(d, "cudnnSetTensorNdDescriptor", dtype, nb, dims, strides);
}

/* cudnnGetTensorNdDescriptor(desc, nbDimsRequested, dataType, nbDims, dimA,
 * strideA): the data type, the number of dimensions, and the first
 * min(nbDimsRequested, nbDims) dimensions and strides (none for a request of
 * 0 or less: SUCCESS); a never set descriptor has 0 dimensions (measured). */
DNN_API cudnnStatus_t cudnnGetTensorNdDescriptor(cudnnTensorDescriptor_t d, int requested, int *dtype, int *nb, int *dims,
	int *strides)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetTensorNdDescriptor";
	if (d == NULL || d->magic != MAGIC_TENSOR)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a tensor descriptor");
	int k = requested < d->nb ? requested : d->nb;
	if (dtype == NULL || nb == NULL || (k > 0 && (dims == NULL || strides == NULL)))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL");
	*dtype = d->dtype, *nb = d->nb;
	for (int i = 0; i < k; i++)
		dims[i] = d->dims[i], strides[i] = d->strides[i];
	if (k > 1 && d->format == CUDNN_TENSOR_NCHW_VECT_C)
		dims[1] *= vect_width(d->dtype);
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
 * enumerant value". With format CUDNN_TENSOR_NCHW the layout is KCRS. No
 * size limit (measured: 1024x1024x1024x2 is SUCCESS); a failed set leaves the
 * descriptor as it was. */
DNN_API cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, int dtype, int format, int k, int c, int h, int w)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnSetFilter4dDescriptor";
	if (d == NULL || d->magic != MAGIC_FILTER)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a filter descriptor");
	if (k <= 0 || c <= 0 || h <= 0 || w <= 0)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dimensions (%d,%d,%d,%d) must be positive", k, c, h, w);
	if (!filter_type_ok(format, dtype))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "data type %d with format %d is not a filter cuDNN accepts", dtype, format);
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
 * enumerant value"; the compute type must be one cuDNN accepts. The math
 * type set earlier by cudnnSetConvolutionMathType is kept.
 *
 * A failed set is not atomic in the real cuDNN (9.10.2 and 9.28.1 measured):
 * mode and compute type are checked first and a bad one changes nothing;
 * otherwise mode and compute type are stored, then for the height and then
 * the width the padding, the stride and the dilation are each stored and
 * checked in turn, so the values up to the bad one stay ("set pad=1,1
 * stride=2,2 dil=1,1 mode=1, then pad=3,4 stride=0,6 dil=2,3 mode=0 fails and
 * leaves pad=3,1 stride=0,2 dil=1,1 mode=0"). The simulator keeps the same
 * values, so that cudnnGetConvolution2dDescriptor answers the same, and
 * refuses the half-written descriptor in computations. */
DNN_API cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
	int dil_h, int dil_w, int mode, int compute)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnSetConvolution2dDescriptor";
	if (d == NULL || d->magic != MAGIC_CONV)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a convolution descriptor");
	if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "mode %d is not an enumerant", mode);
	if (!compute_type_ok(compute))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "compute type %d is not FLOAT, DOUBLE, HALF or INT32", compute);
	d->mode = mode, d->compute = compute;
	const int pad[2] = {pad_h, pad_w}, stride[2] = {u, v}, dil[2] = {dil_h, dil_w};
	int *dpad[2] = {&d->pad_h, &d->pad_w}, *dstride[2] = {&d->u, &d->v}, *ddil[2] = {&d->dil_h, &d->dil_w};
	for (int i = 0; i < 2; i++) {
		*dpad[i] = pad[i];
		if (pad[i] < 0) {
			d->set = 0;
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "negative padding (%d,%d)", pad_h, pad_w);
		}
		*dstride[i] = stride[i];
		if (stride[i] <= 0) {
			d->set = 0;
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "stride (%d,%d) must be positive", u, v);
		}
		*ddil[i] = dil[i];
		if (dil[i] <= 0) {
			d->set = 0;
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dilation (%d,%d) must be positive", dil_h, dil_w);
		}
	}
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
 * threshold for CLIPPED_RELU and alpha for ELU, and any value is accepted:
 * cuDNN 9.10.2 and 9.28.1 answer SUCCESS for a negative, NaN or infinite coef
 * in every mode ("mode=3, nan=0, coef=-1 -> SUCCESS"; the simulator refused
 * negative ones before it was checked against them). */
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
	d->mode = mode, d->nan = nan, d->coef = coef;
	d->set = 1;
	return CUDNN_STATUS_SUCCESS;
}

/* The strides of a 4-d tensor as cudnnGetTensor4dDescriptor reports them
 * (measured): NCHW packed (wStride 1, hStride w, ...); NHWC with cStride 1,
 * wStride c, hStride w·c, nStride h·w·c; NCHW_VECT_C as NCHW with c counted
 * in vectors ("fmt=2, dtype=5, 2,8,3,5 -> strides=30,15,5,1"). */
static void tensor_strides(cudnnTensorDescriptor_t d, int st[4])
{
	int c = d->c;
	if (d->format == CUDNN_TENSOR_NCHW_VECT_C)
		c /= vect_width(d->dtype);
	if (d->format == CUDNN_TENSOR_NHWC) {
		st[1] = 1, st[3] = c, st[2] = d->w * c, st[0] = d->h * d->w * c;
		return;
	}
	st[3] = 1, st[2] = d->w, st[1] = d->h * d->w, st[0] = c * d->h * d->w;
}

/* cudnnGetTensor4dDescriptor(): the data type, dimensions and strides;
 * BAD_PARAM for a NULL descriptor or any NULL output (measured; the API
 * reference lists only "the parameter tensorDesc was not set"). A created,
 * never set descriptor answers SUCCESS with all zeros, as cuDNN 9.10.2 and
 * 9.28.1 do. */
DNN_API cudnnStatus_t cudnnGetTensor4dDescriptor(cudnnTensorDescriptor_t d, int *dtype, int *n, int *c, int *h, int *w,
	int *ns, int *cs, int *hs, int *ws)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetTensor4dDescriptor";
	if (d == NULL || d->magic != MAGIC_TENSOR)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a tensor descriptor");
	if (!dtype || !n || !c || !h || !w || !ns || !cs || !hs || !ws)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL");
	/* The stored values, also after a failed strided set; for fewer than 4
	 * dimensions the rest are 0, for more the first 4 (measured). */
	int v[4], st[4];
	for (int i = 0; i < 4; i++)
		v[i] = i < d->nb ? d->dims[i] : 0, st[i] = i < d->nb ? d->strides[i] : 0;
	if (d->format == CUDNN_TENSOR_NCHW_VECT_C)
		v[1] *= vect_width(d->dtype);
	*dtype = d->dtype, *n = v[0], *c = v[1], *h = v[2], *w = v[3];
	*ns = st[0], *cs = st[1], *hs = st[2], *ws = st[3];
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetTensorSizeInBytes(): "the size of the tensor in memory in respect
 * to the given descriptor" (tensor_bytes), as of the last set that checked
 * every dimension: a strided set that fails on a dimension leaves the size
 * of the layout before it, one that fails on the total size has the new
 * one; 0 for a never set descriptor (all measured). BAD_PARAM for a NULL descriptor; a NULL size is BAD_PARAM here
 * where the real cuDNN crashes. */
DNN_API cudnnStatus_t cudnnGetTensorSizeInBytes(cudnnTensorDescriptor_t d, size_t *size)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetTensorSizeInBytes";
	if (d == NULL || d->magic != MAGIC_TENSOR)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a tensor descriptor");
	if (size == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "size is NULL (the real cuDNN crashes)");
	*size = d->bytes;
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetFilter4dDescriptor(): data type, format and dimensions; zeros for a
 * never set descriptor. For NCHW_VECT_C the real cuDNN answers c rounded down
 * to a multiple of the vector and then scaled as if the vector were 4 wide
 * (measured: INT8x4 with c=6 gives 4; INT8x32 with c=64 gives 8, with c=8
 * gives 0); the simulator answers the same. NULL outputs are BAD_PARAM here,
 * a crash in the real cuDNN. */
DNN_API cudnnStatus_t cudnnGetFilter4dDescriptor(cudnnFilterDescriptor_t d, int *dtype, int *format, int *k, int *c, int *h,
	int *w)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetFilter4dDescriptor";
	if (d == NULL || d->magic != MAGIC_FILTER)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a filter descriptor");
	if (!dtype || !format || !k || !c || !h || !w)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL (the real cuDNN crashes)");
	*dtype = d->dtype, *format = d->format, *k = d->k, *c = d->c, *h = d->h, *w = d->w;
	if (d->set && d->format == CUDNN_TENSOR_NCHW_VECT_C)
		*c = d->c / vect_width(d->dtype) * 4;
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetConvolution2dDescriptor(): the values stored by the last set, even a
 * failed one (see cudnnSetConvolution2dDescriptor); zeros when never set.
 * NULL outputs are BAD_PARAM here, a crash in the real cuDNN. */
DNN_API cudnnStatus_t cudnnGetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int *pad_h, int *pad_w, int *u, int *v,
	int *dil_h, int *dil_w, int *mode, int *compute)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetConvolution2dDescriptor";
	if (d == NULL || d->magic != MAGIC_CONV)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a convolution descriptor");
	if (!pad_h || !pad_w || !u || !v || !dil_h || !dil_w || !mode || !compute)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL (the real cuDNN crashes)");
	*pad_h = d->pad_h, *pad_w = d->pad_w, *u = d->u, *v = d->v, *dil_h = d->dil_h, *dil_w = d->dil_w;
	*mode = d->mode, *compute = d->compute;
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetConvolution2dForwardOutputDim(): "each dimension h and w of the
 * output images is computed as follows: outputDim = 1 + ( inputDim +
 * 2*pad - (((filterDim-1)*dilation)+1) )/convolutionStride"; n is x's and c
 * the filter's k. BAD_PARAM for a NULL or never set descriptor, x's and the
 * filter's channels differing, and a dilated filter larger than the padded
 * input (measured: 1x1 input, 3x3 filter, stride 3 is BAD_PARAM, not the 1
 * that C's truncating division would give). Data types and formats are not
 * compared (measured: float x with a double filter is SUCCESS). */
static cudnnStatus_t output_dim(const char *call, cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t xd,
	cudnnFilterDescriptor_t wd, int *n, int *c, int *h, int *w)
{
	if (!dnn_conv_ok(cd) || !dnn_tensor_ok(xd) || !dnn_filter_ok(wd))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a descriptor is NULL or not set");
	if (!n || !c || !h || !w)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL (the real cuDNN crashes)");
	if (xd->nb != 4) /* measured: an N-d x of 2, 3 or 5 dimensions is BAD_PARAM; strides do not matter */
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "x has %d dimensions, not 4", xd->nb);
	if (xd->c != wd->c)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "x has %d feature maps, the filter %d", xd->c, wd->c);
	long eff_r = (long)(wd->h - 1) * cd->dil_h + 1, eff_s = (long)(wd->w - 1) * cd->dil_w + 1;
	long in_h = (long)xd->h + 2L * cd->pad_h, in_w = (long)xd->w + 2L * cd->pad_w;
	if (eff_r > in_h || eff_s > in_w)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "filter %dx%d (dilated %ldx%ld) is larger than the padded input %ldx%ld",
			wd->h, wd->w, eff_r, eff_s, in_h, in_w);
	*n = xd->n, *c = wd->k;
	*h = (int)(1 + (in_h - eff_r) / cd->u), *w = (int)(1 + (in_w - eff_s) / cd->v);
	return CUDNN_STATUS_SUCCESS;
}

DNN_API cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t xd,
	cudnnFilterDescriptor_t wd, int *n, int *c, int *h, int *w)
{
	CUDASIM_API_CALL();
	return output_dim("cudnnGetConvolution2dForwardOutputDim", cd, xd, wd, n, c, h, w);
}

/* cudnnGetConvolutionNdForwardOutputDim(convDesc, xDesc, wDesc, nbDims,
 * tensorOuputDimA): the same shape as cudnnGetConvolution2dForwardOutputDim
 * for these 4-d descriptors, as an array. Measured against cuDNN 9.10.2 and
 * 9.28.1: nbDims below 0 or above 4 is BAD_PARAM, and so is a NULL array;
 * otherwise n and c are always written (even for nbDims 0 and 1) and then
 * the spatial sizes up to nbDims ("nbDims=3 -> dims=2,4,4"). */
DNN_API cudnnStatus_t cudnnGetConvolutionNdForwardOutputDim(cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t xd,
	cudnnFilterDescriptor_t wd, int nbDims, int *dims)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetConvolutionNdForwardOutputDim";
	if (nbDims < 0 || nbDims > 4 || dims == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "nbDims %d is not in [0,4] or the array is NULL", nbDims);
	int d[4];
	cudnnStatus_t s = output_dim(call, cd, xd, wd, &d[0], &d[1], &d[2], &d[3]);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	for (int i = 0; i < (nbDims > 2 ? nbDims : 2); i++)
		dims[i] = d[i];
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetActivationDescriptor(): mode, NaN option and coef as set; zeros
 * when never set. NULL outputs are BAD_PARAM here, a crash in the real cuDNN. */
DNN_API cudnnStatus_t cudnnGetActivationDescriptor(cudnnActivationDescriptor_t d, int *mode, int *nan, double *coef)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetActivationDescriptor";
	if (d == NULL || d->magic != MAGIC_ACT)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not an activation descriptor");
	if (!mode || !nan || !coef)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL (the real cuDNN crashes)");
	*mode = d->mode, *nan = d->nan, *coef = d->coef;
	return CUDNN_STATUS_SUCCESS;
}
