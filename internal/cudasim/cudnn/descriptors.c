/*
 * descriptors.c: tensor, filter, convolution and activation descriptors, with
 * the validation the cuDNN 9 API reference documents for each setter
 * (cudnn_graph library for tensors and filters' data, cudnn_cnn for
 * activations), and the getters; convolution descriptors are in convdesc.c.
 *
 * Where the reference is silent, the behaviour is NVIDIA's real cuDNN's as
 * measured without a GPU by TestSimulatorCUDNNMatchesReal
 * (../testdata/cudnn_calls.c) against cuDNN 9.10.2 (CUDA 12 wheel) and
 * 9.28.1 (CUDA 13 wheel), which agree on every case quoted here.
 */
#include <stdlib.h>

#include "dnn.h"

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

/* store_filter records a filter set with nb valid dimensions (zeros past
 * them) and the 4-d shape computations use. */
static void store_filter(cudnnFilterDescriptor_t d, int dtype, int format, int nb, const int *dims)
{
	d->dtype = dtype, d->format = format, d->nb = nb;
	for (int i = 0; i < CUDNN_DIM_MAX; i++)
		d->dims[i] = i < nb ? dims[i] : 0;
	d->k = d->dims[0], d->c = d->dims[1], d->h = d->dims[2], d->w = d->dims[3];
	d->set = 1;
}

/* filter_dim is dimension i as the getters report it: for NCHW_VECT_C the
 * real cuDNN answers c rounded down to a multiple of the vector and then
 * scaled as if the vector were 4 wide (measured: INT8x4 with c=6 gives 4;
 * INT8x32 with c=64 gives 8, with c=8 gives 0). */
static int filter_dim(cudnnFilterDescriptor_t d, int i)
{
	if (i == 1 && d->format == CUDNN_TENSOR_NCHW_VECT_C && vect_width(d->dtype) != 0)
		return d->dims[1] / vect_width(d->dtype) * 4;
	return d->dims[i];
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
	const int dims[4] = {k, c, h, w};
	store_filter(d, dtype, format, 4, dims);
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnSetFilterNdDescriptor(filterDesc, dataType, format, nbDims,
 * filterDimA), measured: nbDims below 3 is BAD_PARAM, above CUDNN_DIM_MAX
 * NOT_SUPPORTED; the data type and format as for the 4-d setter; these
 * change nothing. Otherwise the data type, format and nbDims are stored, then
 * each dimension in turn until one of 0 or less (BAD_PARAM, the earlier ones
 * stay: "6,8,7,9 then 4,3,0,3 fails leaving 4,3,7,9"). */
DNN_API cudnnStatus_t cudnnSetFilterNdDescriptor(cudnnFilterDescriptor_t d, int dtype, int format, int nb, const int *dims)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnSetFilterNdDescriptor";
	if (d == NULL || d->magic != MAGIC_FILTER)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a filter descriptor");
	if (nb < 3)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "nbDims %d is below 3", nb);
	if (nb > CUDNN_DIM_MAX)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "nbDims %d is above CUDNN_DIM_MAX (8)", nb);
	if (dims == NULL) /* the real cuDNN crashes */
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "filterDimA is NULL");
	if (!filter_type_ok(format, dtype))
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "data type %d with format %d is not a filter cuDNN accepts", dtype, format);
	d->dtype = dtype, d->format = format, d->nb = nb;
	for (int i = 0; i < nb; i++) {
		if (dims[i] <= 0) {
			d->set = 0;
			return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "dimension %d is %d", i, dims[i]);
		}
		d->dims[i] = dims[i];
	}
	store_filter(d, dtype, format, nb, dims);
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetFilterNdDescriptor(desc, nbDimsRequested, ...): data type, format,
 * nbDims and the first nbDimsRequested dimensions (zeros past nbDims).
 * Measured: a request of 0 or less is BAD_PARAM, above CUDNN_DIM_MAX
 * NOT_SUPPORTED; NCHW_VECT_C's c as cudnnGetFilter4dDescriptor reports it. */
DNN_API cudnnStatus_t cudnnGetFilterNdDescriptor(cudnnFilterDescriptor_t d, int requested, int *dtype, int *format, int *nb,
	int *dims)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetFilterNdDescriptor";
	if (d == NULL || d->magic != MAGIC_FILTER || requested <= 0)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a filter descriptor, or nbDimsRequested %d <= 0", requested);
	if (requested > CUDNN_DIM_MAX)
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "nbDimsRequested %d is above CUDNN_DIM_MAX (8)", requested);
	if (!dtype || !format || !nb || !dims)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL");
	*dtype = d->dtype, *format = d->format, *nb = d->nb;
	for (int i = 0; i < requested; i++)
		dims[i] = filter_dim(d, i);
	return CUDNN_STATUS_SUCCESS;
}

/* cudnnGetFilterSizeInBytes(): the product of the stored dimensions times the
 * data type's size, NCHW_VECT_C's c counted in whole vectors (measured:
 * INT8x4 4x8x3x3 is 288 bytes, INT8x32 with c=8 is 0); 0 for a never set
 * descriptor and after a failed N-d set that left a dimension unwritten. */
DNN_API cudnnStatus_t cudnnGetFilterSizeInBytes(cudnnFilterDescriptor_t d, size_t *size)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetFilterSizeInBytes";
	if (d == NULL || d->magic != MAGIC_FILTER)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a filter descriptor");
	if (size == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "size is NULL");
	size_t n = d->nb > 0 ? 1 : 0;
	for (int i = 0; i < d->nb; i++)
		n *= (size_t)(i == 1 && d->format == CUDNN_TENSOR_NCHW_VECT_C ? d->dims[1] / vect_width(d->dtype) : d->dims[i]);
	*size = n * (size_t)dtype_bytes[d->dtype];
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

/* cudnnGetFilter4dDescriptor(): data type, format and the first four
 * dimensions (filter_dim; zeros past nbDims or when never set). NULL outputs
 * are BAD_PARAM here, a crash in the real cuDNN. */
DNN_API cudnnStatus_t cudnnGetFilter4dDescriptor(cudnnFilterDescriptor_t d, int *dtype, int *format, int *k, int *c, int *h,
	int *w)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnGetFilter4dDescriptor";
	if (d == NULL || d->magic != MAGIC_FILTER)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "not a filter descriptor");
	if (!dtype || !format || !k || !c || !h || !w)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is NULL (the real cuDNN crashes)");
	*dtype = d->dtype, *format = d->format;
	*k = filter_dim(d, 0), *c = filter_dim(d, 1), *h = filter_dim(d, 2), *w = filter_dim(d, 3);
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
