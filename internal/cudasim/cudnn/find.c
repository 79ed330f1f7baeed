/*
 * find.c: the convolution algorithms — what each supports and needs — and
 * cudnnFind*AlgorithmEx (cuDNN 9 API reference, cudnn_cnn library).
 *
 * Supported geometries follow the support tables of cudnnConvolutionForward,
 * cudnnConvolutionBackwardData and cudnnConvolutionBackwardFilter in spirit:
 * FFT and FFT_TILING need unit stride and no dilation, WINOGRAD needs 3x3
 * filters with unit stride, WINOGRAD_NONFUSED 3x3 or 5x5 with unit stride,
 * DIRECT and the backward-filter WINOGRAD are "not implemented" (always
 * NOT_SUPPORTED). Workspace sizes are the simulator's model (NVIDIA documents
 * none): zero for the implicit GEMMs and ALGO_0, a buffer the size of the
 * im2col matrix for GEMM, transforms of all three tensors for the FFT and
 * Winograd variants. Find's timings are made up per process from
 * cudasim_seed, so the order of the results differs between seeds
 * (CUDASIM_SEED reproduces one).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"

/* Relative error beyond FMA's that the transform algorithms carry. */
#define ERR_TRANSFORM 2.5e-4f

static int unit_stride(const convgeom *g) { return g->u == 1 && g->v == 1 && g->dil_h == 1 && g->dil_w == 1; }

/* Floats in all three tensors, transformed to h×w tiles (complex for FFT). */
static size_t transformed(const convgeom *g, size_t h, size_t w)
{
	return 4 * ((size_t)g->x.n * g->c + (size_t)g->k * g->c + (size_t)g->x.n * g->k) * h * w;
}

algoinfo algo_info(int dir, int algo, const convgeom *g)
{
	algoinfo a = {.status = CUDNN_STATUS_SUCCESS, .determinism = CUDNN_DETERMINISTIC};
	int w3 = g->r == 3 && g->s == 3, w35 = w3 || (g->r == 5 && g->s == 5);
	size_t ph = g->x.h + 2 * g->pad_h, pw = g->x.w + 2 * g->pad_w;
	size_t im2col = 4 * (size_t)g->c * g->r * g->s * g->y.h * g->y.w;
	size_t tiles = (size_t)((g->y.h + 3) / 4) * ((g->y.w + 3) / 4);
	enum { GEMMLIKE, FFT, FFT_TILING, WINO, WINO_NF, NOPE } kind;
	if (dir == DIR_FWD) {
		if (algo < 0 || algo >= CUDNN_CONVOLUTION_FWD_ALGO_COUNT)
			return (algoinfo){.status = CUDNN_STATUS_BAD_PARAM};
		static const int kinds[] = {GEMMLIKE, GEMMLIKE, GEMMLIKE, NOPE, FFT, FFT_TILING, WINO, WINO_NF};
		kind = kinds[algo];
		a.tensor_core = algo <= CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
		if (algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
			a.workspace = 4 * (size_t)g->c * g->r * g->s + 256;
		if (algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM)
			a.workspace = im2col;
	} else if (dir == DIR_BWD_DATA) {
		if (algo < 0 || algo >= CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT)
			return (algoinfo){.status = CUDNN_STATUS_BAD_PARAM};
		static const int kinds[] = {GEMMLIKE, GEMMLIKE, FFT, FFT_TILING, WINO, WINO_NF};
		kind = kinds[algo];
		a.tensor_core = algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
		if (algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0)
			a.determinism = CUDNN_NON_DETERMINISTIC;
		if (algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1)
			a.workspace = 4 * (size_t)g->k * g->r * g->s + 256;
	} else {
		if (algo < 0 || algo >= CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT)
			return (algoinfo){.status = CUDNN_STATUS_BAD_PARAM};
		static const int kinds[] = {GEMMLIKE, GEMMLIKE, FFT, GEMMLIKE, NOPE, WINO_NF, FFT_TILING};
		kind = kinds[algo];
		a.tensor_core = algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
		if (algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3)
			a.determinism = CUDNN_NON_DETERMINISTIC;
		if (algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 || algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3)
			a.workspace = im2col;
	}
	switch (kind) {
	case GEMMLIKE:
		break;
	case FFT:
		if (!unit_stride(g))
			a.status = CUDNN_STATUS_NOT_SUPPORTED;
		a.workspace = transformed(g, ph, pw / 2 + 1) * 2;
		a.err = ERR_TRANSFORM;
		break;
	case FFT_TILING:
		if (!unit_stride(g))
			a.status = CUDNN_STATUS_NOT_SUPPORTED;
		a.workspace = transformed(g, 32, 17) * 2;
		a.err = ERR_TRANSFORM;
		break;
	case WINO:
		if (!unit_stride(g) || !w3)
			a.status = CUDNN_STATUS_NOT_SUPPORTED;
		break;
	case WINO_NF:
		if (!unit_stride(g) || !w35)
			a.status = CUDNN_STATUS_NOT_SUPPORTED;
		a.workspace = transformed(g, 6, 6) * (tiles ? tiles : 1);
		a.err = ERR_TRANSFORM;
		break;
	case NOPE:
		a.status = CUDNN_STATUS_NOT_SUPPORTED;
		break;
	}
	/* Data types and layouts by algorithm (the "Supported Algorithms"
	 * tables of cudnnConvolutionForward, BackwardData and BackwardFilter,
	 * cuDNN API reference, cudnn_cnn library): the FFT algorithms take
	 * "NCHW HW-packed" tensors only, and the FFT and Winograd algorithms
	 * list PSEUDO_HALF_CONFIG and FLOAT_CONFIG among the data type
	 * configurations, never PSEUDO_BFLOAT16_CONFIG. */
	if ((kind == FFT || kind == FFT_TILING) && (!view_nchw(&g->xv) || !view_nchw(&g->yv)))
		a.status = CUDNN_STATUS_NOT_SUPPORTED;
	if (kind != GEMMLIKE && kind != NOPE && g->xv.dtype == CUDNN_DATA_BFLOAT16)
		a.status = CUDNN_STATUS_NOT_SUPPORTED;
	if (a.status != CUDNN_STATUS_SUCCESS)
		a.workspace = 0;
	return a;
}

typedef struct {
	int algo;
	cudnnStatus_t status;
	float time;
	size_t memory;
	int determinism, math;
} result;

static int by_time(const void *pa, const void *pb)
{
	const result *a = pa, *b = pb;
	int fa = a->status != CUDNN_STATUS_SUCCESS, fb = b->status != CUDNN_STATUS_SUCCESS;
	if (fa != fb)
		return fa - fb; /* failures after every success */
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return a->algo - b->algo;
}

static uint64_t geom_key(int dir, const convgeom *g)
{
	const int v[] = {dir, g->x.n, g->x.c, g->x.h, g->x.w, g->k, g->r, g->s, g->pad_h, g->pad_w, g->u, g->v, g->dil_h, g->dil_w};
	uint64_t k = 1469598103934665603ull;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		k = (k ^ (uint64_t)(unsigned)v[i]) * 1099511628211ull;
	return k;
}

typedef struct {
	const char *call;
	void *out;
	size_t out_bytes;
	void *ws;
	size_t ws_bytes;
	uint64_t key;
} garbagetask;

/* What a timed run leaves: the last algorithm's output, and memory the
 * failed ones scribbled on. The simulator writes seeded random values with
 * NaN among them, so that nobody takes Find's output for a result. */
static void run_garbage(void *arg)
{
	garbagetask *t = arg;
	unsigned char *o = cudasim_host((cudasim_devptr)(uintptr_t)t->out, t->out_bytes, t->call);
	if (o == NULL)
		return;
	/* Float garbage over float data; over half data each float's halves
	 * are garbage of that type too (and a tail of 2 bytes NaN). */
	for (size_t i = 0; i < t->out_bytes / 4; i++) {
		uint64_t r = dnn_rand(t->key + i);
		float f = (r % 7 == 0) ? NAN : (float)((double)(int32_t)(r >> 32) / 65536.0);
		memcpy(o + 4 * i, &f, 4);
	}
	memset(o + t->out_bytes / 4 * 4, 0xff, t->out_bytes % 4);
	if (t->ws != NULL && t->ws_bytes > 0) {
		size_t n = t->ws_bytes < 65536 ? t->ws_bytes : 65536;
		unsigned char *w = cudasim_host((cudasim_devptr)(uintptr_t)t->ws, n, t->call);
		if (w != NULL)
			memset(w, 0xff, n);
	}
}

/* find is the body of the three cudnnFind*AlgorithmEx: "attempts all
 * algorithms available", writes "the performance metrics ... sorted
 * ascending by compute time" into perfResults (at most requestedAlgoCount),
 * and "the number of output elements stored" into returnedAlgoCount.
 * BAD_PARAM when the handle or a descriptor is bad, a data pointer is NULL,
 * perfResults or returnedAlgoCount is NULL, or requestedAlgoCount < 1. An
 * algorithm whose workspace does not fit workSpaceSizeInBytes gets the status
 * the perf struct documents for "the provided workspace is insufficient"
 * (ALLOC_FAILED, which cuDNN 9 spells INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED).
 * mathType is the convolution descriptor's, except that DEFAULT_MATH reports
 * TENSOR_OP_MATH for the algorithms that then run on tensor cores; with
 * FMA_MATH every entry is FMA_MATH. The output buffer is left holding
 * garbage, on the handle's stream. */
static cudnnStatus_t find(cudnnHandle_t h, const char *call, int dir, int count, const convgeom *g, int math,
	const void *a, const void *b, void *out, int requested, int *returned, void *perf, void *ws, size_t ws_size)
{
	/* Find times every algorithm, which synchronises and allocates: it is
	 * not capturable (a graph records stream work only).
	 * On a capturing stream it fails as the CUDA call inside it does, and
	 * the capture is invalidated. */
	if (cudasim_capture_refuse(h->stream, call) != 0)
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDART, call,
			"the handle's stream is capturing a graph (CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED)");
	if (a == NULL || b == NULL || out == NULL || returned == NULL || perf == NULL)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "a data, perfResults or returnedAlgoCount pointer is NULL");
	if (requested < 1)
		return dnn_err(CUDNN_STATUS_BAD_PARAM, call, "requestedAlgoCount %d < 1", requested);
	const tview *va, *vb, *vo;
	conv_views(dir, g, &va, &vb, &vo);
	if (!view_check(a, va, call) || !view_check(b, vb, call) || !view_check(out, vo, call))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "a tensor is not inside one live allocation");
	if (ws != NULL && ws_size > 0 && !cudasim_check((cudasim_devptr)(uintptr_t)ws, ws_size, call))
		return dnn_err(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, call, "the %zu-byte workspace is not inside one live allocation", ws_size);

	result r[16];
	uint64_t key = geom_key(dir, g);
	for (int i = 0; i < count; i++) {
		algoinfo ai = algo_info(dir, i, g);
		r[i] = (result){.algo = i, .status = ai.status, .time = -1, .memory = ai.workspace,
			.determinism = ai.determinism, .math = math};
		if (ai.status == CUDNN_STATUS_SUCCESS && (ai.workspace > ws_size || (ai.workspace > 0 && ws == NULL)))
			r[i].status = CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
		if (r[i].status == CUDNN_STATUS_SUCCESS)
			r[i].time = 0.01f + (float)(dnn_rand(key * 31 + i) % 100000) / 1000.0f; /* ms */
		if (math == CUDNN_DEFAULT_MATH && conv_uses_tf32(math, &ai))
			r[i].math = CUDNN_TENSOR_OP_MATH;
	}
	qsort(r, count, sizeof r[0], by_time);
	int n = requested < count ? requested : count;
	/* The three perf structs share one layout (cudnn_cnn.h). */
	cudnnConvolutionFwdAlgoPerf_t *p = perf;
	for (int i = 0; i < n; i++)
		p[i] = (cudnnConvolutionFwdAlgoPerf_t){.algo = r[i].algo, .status = r[i].status, .time = r[i].time,
			.memory = r[i].memory, .determinism = r[i].determinism, .mathType = r[i].math};
	*returned = n;

	garbagetask *t = malloc(sizeof *t);
	if (t == NULL)
		return dnn_err(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, call, "out of host memory");
	*t = (garbagetask){.call = call, .out = out, .out_bytes = view_bytes(vo), .ws = ws, .ws_bytes = ws_size, .key = key};
	return dnn_enqueue(h, call, run_garbage, t);
}

DNN_API cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t h, cudnnTensorDescriptor_t xd, const void *x,
	cudnnFilterDescriptor_t wd, const void *w, cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t yd, void *y,
	int requested, int *returned, cudnnConvolutionFwdAlgoPerf_t *perf, void *ws, size_t ws_size)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnFindConvolutionForwardAlgorithmEx";
	convgeom g;
	cudnnStatus_t s = conv_geometry(h, call, xd, wd, cd, yd, &g);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	return find(h, call, DIR_FWD, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &g, cd->math, x, w, y, requested, returned, perf, ws, ws_size);
}

DNN_API cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t h, cudnnFilterDescriptor_t wd, const void *w,
	cudnnTensorDescriptor_t dyd, const void *dy, cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t dxd, void *dx,
	int requested, int *returned, cudnnConvolutionBwdDataAlgoPerf_t *perf, void *ws, size_t ws_size)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnFindConvolutionBackwardDataAlgorithmEx";
	convgeom g;
	cudnnStatus_t s = conv_geometry(h, call, dxd, wd, cd, dyd, &g);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	return find(h, call, DIR_BWD_DATA, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &g, cd->math, w, dy, dx, requested, returned, perf, ws, ws_size);
}

DNN_API cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnnHandle_t h, cudnnTensorDescriptor_t xd, const void *x,
	cudnnTensorDescriptor_t dyd, const void *dy, cudnnConvolutionDescriptor_t cd, cudnnFilterDescriptor_t dwd, void *dw,
	int requested, int *returned, cudnnConvolutionBwdFilterAlgoPerf_t *perf, void *ws, size_t ws_size)
{
	CUDASIM_API_CALL();
	const char *call = "cudnnFindConvolutionBackwardFilterAlgorithmEx";
	convgeom g;
	cudnnStatus_t s = conv_geometry(h, call, xd, dwd, cd, dyd, &g);
	if (s != CUDNN_STATUS_SUCCESS)
		return s;
	return find(h, call, DIR_BWD_FILTER, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &g, cd->math, x, dy, dw, requested, returned, perf, ws, ws_size);
}
