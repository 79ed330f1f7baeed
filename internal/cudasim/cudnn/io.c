/*
 * io.c: how the computations read and write tensors and filters of every
 * data type and layout the simulator accepts, so that conv.c, batchnorm.c
 * and activation.c compute on packed float NCHW (KCRS) arrays only.
 *
 * A view (tview) is a descriptor's data type, 4-d shape and element strides.
 * view_read gives the data as packed float NCHW: float NCHW data in place,
 * anything else widened into a new array (large arrays are fresh pages from
 * the system: copying float data for nothing made every convolution a third
 * slower);
 * view_scatter blends a float NCHW result into the device data, y =
 * alpha·v + beta·y in float (beta 0 never reads y: the API reference's
 * "Scaling Parameters", whose alpha and beta are float for HALF, BFLOAT16
 * and FLOAT data), then rounds to the storage type, to nearest with ties to
 * even — bit for bit what deepres's CPU reference does (ops/half.go:
 * BF16Bits, F16Bits, F16Value): a NaN stays a quiet NaN with its sign,
 * float16 overflow past 65520 gives inf, float16 subnormals are exact.
 *
 * Layouts: packed NCHW and packed NHWC tensors (cudnnSetTensor4dDescriptor
 * formats CUDNN_TENSOR_NCHW and CUDNN_TENSOR_NHWC, or strided and N-d
 * descriptors of 4 dimensions with exactly those strides), KCRS filters
 * (format CUDNN_TENSOR_NCHW) and KRSC filters (CUDNN_TENSOR_NHWC: "the
 * filter layout is in the form of KRSC", cudnnSetFilter4dDescriptor in the
 * cuDNN 9 API reference, cudnn_cnn library).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"
#include "../half.h"

static int dnn_elem_bytes(int dtype) { return dtype == CUDNN_DATA_HALF || dtype == CUDNN_DATA_BFLOAT16 ? 2 : 4; }

/* ---- views ---- */

static int computable(int dtype) { return dtype == CUDNN_DATA_FLOAT || dtype == CUDNN_DATA_HALF || dtype == CUDNN_DATA_BFLOAT16; }

static int is_packed(const int dims[4], const int st[4], const int order[4])
{
	/* order lists the dimensions innermost first; a dimension of 1 may have
	 * any stride (cuDNN's own descriptors give it the packed one anyway). */
	long p = 1;
	for (int i = 0; i < 4; i++) {
		int d = order[i];
		if (dims[d] != 1 && st[d] != p)
			return 0;
		p *= dims[d];
	}
	return 1;
}

cudnnStatus_t tensor_view(const char *call, const char *name, cudnnTensorDescriptor_t d, tview *v)
{
	if (!computable(d->dtype))
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "%s: the simulator computes FLOAT, HALF and BFLOAT16 data only, not %d",
			name, d->dtype);
	static const int nchw[4] = {3, 2, 1, 0}, nhwc[4] = {1, 3, 2, 0};
	if (d->nb != 4 || d->format == CUDNN_TENSOR_NCHW_VECT_C ||
		!(is_packed(d->dims, d->strides, nchw) || is_packed(d->dims, d->strides, nhwc)))
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "%s: the simulator computes packed 4-d NCHW and NHWC tensors only", name);
	*v = (tview){.dtype = d->dtype, .s = {d->n, d->c, d->h, d->w},
		.st = {d->strides[0], d->strides[1], d->strides[2], d->strides[3]}};
	return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t filter_view(const char *call, cudnnFilterDescriptor_t d, tview *v)
{
	if (!computable(d->dtype))
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "filter: the simulator computes FLOAT, HALF and BFLOAT16 data only, not %d",
			d->dtype);
	if (d->nb != 4 || (d->format != CUDNN_TENSOR_NCHW && d->format != CUDNN_TENSOR_NHWC))
		return dnn_err(CUDNN_STATUS_NOT_SUPPORTED, call, "the simulator computes 4-d KCRS and KRSC filters only");
	long c = d->c, r = d->h, s = d->w;
	*v = (tview){.dtype = d->dtype, .s = {d->k, d->c, d->h, d->w}};
	if (d->format == CUDNN_TENSOR_NCHW)
		v->st[0] = c * r * s, v->st[1] = r * s, v->st[2] = s, v->st[3] = 1;
	else /* KRSC */
		v->st[0] = r * s * c, v->st[1] = 1, v->st[2] = s * c, v->st[3] = c;
	return CUDNN_STATUS_SUCCESS;
}

size_t view_len(const tview *v) { return shape4_len(v->s); }

size_t view_bytes(const tview *v)
{
	size_t span = 1;
	const int *dim = &v->s.n;
	for (int i = 0; i < 4; i++)
		span += (size_t)(dim[i] - 1) * (size_t)labs(v->st[i]);
	return span * (size_t)dnn_elem_bytes(v->dtype);
}

int view_nchw(const tview *v)
{
	return (v->s.w == 1 || v->st[3] == 1) && (v->s.h == 1 || v->st[2] == v->s.w) && (v->s.c == 1 || v->st[1] == (long)v->s.h * v->s.w);
}

int view_nhwc(const tview *v)
{
	static const int nhwc[4] = {1, 3, 2, 0};
	const int dims[4] = {v->s.n, v->s.c, v->s.h, v->s.w};
	const int st[4] = {(int)v->st[0], (int)v->st[1], (int)v->st[2], (int)v->st[3]};
	return is_packed(dims, st, nhwc);
}

static inline float ld(int dtype, const unsigned char *p, size_t e)
{
	uint16_t h;
	switch (dtype) {
	case CUDNN_DATA_HALF: memcpy(&h, p + 2 * e, 2); return sim_f16_value(h);
	case CUDNN_DATA_BFLOAT16: memcpy(&h, p + 2 * e, 2); return sim_bf16_value(h);
	}
	float f;
	memcpy(&f, p + 4 * e, 4);
	return f;
}

static inline void st(int dtype, unsigned char *p, size_t e, float x)
{
	uint16_t h;
	switch (dtype) {
	case CUDNN_DATA_HALF: h = sim_f16_bits(x); memcpy(p + 2 * e, &h, 2); return;
	case CUDNN_DATA_BFLOAT16: h = sim_bf16_bits(x); memcpy(p + 2 * e, &h, 2); return;
	}
	memcpy(p + 4 * e, &x, 4);
}

/* The element offset of logical (n, c, h, w). */
static inline size_t off(const tview *v, int n, int c, int h, int w)
{
	return (size_t)(n * v->st[0] + c * v->st[1] + h * v->st[2] + w * v->st[3]);
}

/* Packed NCHW data is read and written in one linear pass per data type
 * (the simulator's hot path: every convolution output passes here); other
 * layouts element by element through their strides. */
static void widen_run(int dtype, const unsigned char *p, float *o, size_t n)
{
	uint16_t h;
	switch (dtype) {
	case CUDNN_DATA_HALF:
		for (size_t i = 0; i < n; i++)
			memcpy(&h, p + 2 * i, 2), o[i] = sim_f16_value(h);
		return;
	case CUDNN_DATA_BFLOAT16:
		for (size_t i = 0; i < n; i++)
			memcpy(&h, p + 2 * i, 2), o[i] = sim_bf16_value(h);
		return;
	}
	memcpy(o, p, n * sizeof *o);
}

const float *view_read(const void *dev, const tview *v, const char *call, float **owned)
{
	*owned = NULL;
	const unsigned char *p = cudasim_host((cudasim_devptr)(uintptr_t)dev, view_bytes(v), call);
	if (p == NULL)
		return NULL; /* the core has recorded the illegal address */
	if (v->dtype == CUDNN_DATA_FLOAT && view_nchw(v))
		return (const float *)p;
	size_t len = view_len(v);
	float *o = malloc((len ? len : 1) * sizeof *o);
	if (o == NULL) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, call, "out of host memory for %zu floats", len);
		return NULL;
	}
	*owned = o;
	if (view_nchw(v)) {
		widen_run(v->dtype, p, o, len);
		return o;
	}
	size_t i = 0;
	for (int n = 0; n < v->s.n; n++)
		for (int c = 0; c < v->s.c; c++)
			for (int h = 0; h < v->s.h; h++)
				for (int w = 0; w < v->s.w; w++)
					o[i++] = ld(v->dtype, p, off(v, n, c, h, w));
	return o;
}

/* The blend of dnn_blend, in float, then one rounding per element. */
#define BLEND_RUN(LOAD, STORE)                                                                       \
	do {                                                                                         \
		if (beta == 0.0f)                                                                    \
			for (size_t i = 0; i < n; i++) {                                             \
				float r = alpha * val[i];                                             \
				STORE;                                                                \
			}                                                                            \
		else                                                                                 \
			for (size_t i = 0; i < n; i++) {                                             \
				float old;                                                            \
				LOAD;                                                                 \
				float r = alpha * val[i] + beta * old;                                \
				STORE;                                                                \
			}                                                                            \
	} while (0)

static void blend_run(int dtype, unsigned char *p, const float *val, size_t n, float alpha, float beta)
{
	uint16_t h;
	float *f = (float *)p;
	switch (dtype) {
	case CUDNN_DATA_HALF:
		BLEND_RUN((memcpy(&h, p + 2 * i, 2), old = sim_f16_value(h)), (h = sim_f16_bits(r), memcpy(p + 2 * i, &h, 2)));
		return;
	case CUDNN_DATA_BFLOAT16:
		BLEND_RUN((memcpy(&h, p + 2 * i, 2), old = sim_bf16_value(h)), (h = sim_bf16_bits(r), memcpy(p + 2 * i, &h, 2)));
		return;
	}
	BLEND_RUN(memcpy(&old, f + i, 4), memcpy(f + i, &r, 4));
}

int view_scatter(void *dev, const tview *v, const float *val, float alpha, float beta, const char *call)
{
	unsigned char *p = cudasim_host((cudasim_devptr)(uintptr_t)dev, view_bytes(v), call);
	if (p == NULL)
		return 0;
	if (view_nchw(v)) {
		blend_run(v->dtype, p, val, view_len(v), alpha, beta);
		return 1;
	}
	size_t i = 0;
	for (int n = 0; n < v->s.n; n++)
		for (int c = 0; c < v->s.c; c++)
			for (int h = 0; h < v->s.h; h++)
				for (int w = 0; w < v->s.w; w++, i++) {
					size_t e = off(v, n, c, h, w);
					float r = beta == 0.0f ? alpha * val[i] : alpha * val[i] + beta * ld(v->dtype, p, e);
					st(v->dtype, p, e, r);
				}
	return 1;
}

int view_check(const void *dev, const tview *v, const char *call)
{
	return cudasim_check((cudasim_devptr)(uintptr_t)dev, view_bytes(v), call);
}

const char *dtype_name(int dtype)
{
	switch (dtype) {
	case CUDNN_DATA_FLOAT: return "FLOAT";
	case CUDNN_DATA_DOUBLE: return "DOUBLE";
	case CUDNN_DATA_HALF: return "HALF";
	case CUDNN_DATA_BFLOAT16: return "BFLOAT16";
	}
	return "another type";
}
