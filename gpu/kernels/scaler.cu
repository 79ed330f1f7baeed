// float16 loss scaling on the device (ops.LossScaler; scaler.go): the
// scale, the clean-step tracker and the overflow flag are one-element
// float32 tensors that these kernels read and write, so no decision needs
// the host and a captured step stays one graph launch. The rule is
// PyTorch's GradScaler (_amp_foreach_non_finite_check_and_unscale_ and
// _amp_update_scale_, aten/src/ATen/native/cuda/AmpKernels.cu); cpuref's
// scaler.go is the reference, which these match bit for bit.

// x *= s[0], x of any storage type.
extern "C" __global__ void dr_scale_by(void *x, int tx, const float *s, int n) {
	float f = s[0];
	DR_GRID_STRIDE(i, n) {
		dr_st(x, tx, i, dr_ld(x, tx, i) * f);
	}
}

// g *= 1/scale[0] (the reciprocal in float, GradScaler's inv_scale);
// found[0] = 1 where a product is an inf or NaN (all-ones exponent),
// tested before g's rounding to its type, as cpuref does. Threads that
// find one all store the same 1, and none ever stores 0, so found
// accumulates over calls.
extern "C" __global__ void dr_unscale_check(void *g, int tg, float *found, const float *scale, int n) {
	float inv = 1.0f / scale[0];
	int bad = 0;
	DR_GRID_STRIDE(i, n) {
		float v = dr_ld(g, tg, i) * inv;
		dr_st(g, tg, i, v);
		bad |= (dr_bits(v) & 0x7F800000u) == 0x7F800000u;
	}
	if (bad) found[0] = 1.0f;
}

// _amp_update_scale_, by one thread: after an overflow the scale backs off
// and the tracker restarts; after a clean step the tracker counts, and at
// interval the scale grows (unless that overflows) and the tracker
// restarts.
extern "C" __global__ void dr_update_scale(float *scale, float *tracker, const float *found, float backoff,
		float growth, int interval) {
	if (blockIdx.x != 0 || threadIdx.x != 0) return;
	if (found[0] != 0.0f) {
		scale[0] *= backoff;
		tracker[0] = 0.0f;
		return;
	}
	float t = tracker[0] + 1.0f;
	if ((int)t == interval) {
		float s = scale[0] * growth;
		if ((dr_bits(s) & 0x7F800000u) != 0x7F800000u) scale[0] = s;
		t = 0.0f;
	}
	tracker[0] = t;
}
