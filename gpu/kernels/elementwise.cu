// Element-wise kernels over n elements; every one writes its output
// without reading it when the blend factor is 0, so a NaN-poisoned output is
// overwritten. Each tensor pointer has its type code after it (common.cuh):
// inputs are widened when read, outputs rounded to their type when written.

// y = alpha*x + beta*y; y may alias x.
extern "C" __global__ void dr_add_tensor(void *y, int ty, const void *x, int tx, float alpha, float beta, int n) {
	DR_GRID_STRIDE(i, n) {
		float v = alpha * dr_ld(x, tx, i);
		dr_st(y, ty, i, beta == 0.0f ? v : v + beta * dr_ld(y, ty, i));
	}
}

// y = a*b + beta*y; y may alias a or b.
extern "C" __global__ void dr_mul(void *y, int ty, const void *a, int ta, const void *b, int tb, float beta, int n) {
	DR_GRID_STRIDE(i, n) {
		float v = dr_ld(a, ta, i) * dr_ld(b, tb, i);
		dr_st(y, ty, i, beta == 0.0f ? v : v + beta * dr_ld(y, ty, i));
	}
}

// dx (add ? += : =) dy*y*(1-y), the sigmoid's gradient from its output.
extern "C" __global__ void dr_sigmoid_backward(void *dx, int tdx, const void *dy, int tdy, const void *y, int ty,
                                                int add, int n) {
	DR_GRID_STRIDE(i, n) {
		float yi = dr_ld(y, ty, i);
		float v = dr_ld(dy, tdy, i) * yi * (1.0f - yi);
		dr_st(dx, tdx, i, add ? dr_ld(dx, tdx, i) + v : v);
	}
}

// mask[i] = scale if element i is kept, else 0: ops.DropoutUniform, bit for
// bit (SplitMix64's finaliser over seed + (i+1)*golden, top 24 bits / 2^24).
// scale = 1/(1-p) is computed on the host as cpuref does. i is the logical
// (NCHW) index, so an NHWC mask (nhwc, c channels, hw positions) keeps the
// same elements as an NCHW one: storage index j holds element i.
extern "C" __global__ void dr_dropout_mask(void *mask, int tm, float p, float scale, unsigned long long seed,
                                           int nhwc, int c, int hw, int n) {
	DR_GRID_STRIDE(j, n) {
		long long i = dr_logical(j, nhwc, c, hw);
		unsigned long long z = seed + (unsigned long long)(i + 1) * 0x9E3779B97F4A7C15ULL;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		z ^= z >> 31;
		float u = (float)(z >> 40) / 16777216.0f;
		dr_st(mask, tm, j, u >= p ? scale : 0.0f);
	}
}

// dr_dropout_mask with seed + the 64-bit base at base[0] (low 32 bits) and
// base[1] (high), written before a captured step's launch (ops.SeedWords).
extern "C" __global__ void dr_dropout_mask_from(void *mask, int tm, float p, float scale, unsigned long long seed,
		const unsigned int *base, int nhwc, int c, int hw, int n) {
	unsigned long long s = seed + ((unsigned long long)base[1] << 32 | base[0]);
	DR_GRID_STRIDE(j, n) {
		long long i = dr_logical(j, nhwc, c, hw);
		unsigned long long z = s + (unsigned long long)(i + 1) * 0x9E3779B97F4A7C15ULL;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		z ^= z >> 31;
		float u = (float)(z >> 40) / 16777216.0f;
		dr_st(mask, tm, j, u >= p ? scale : 0.0f);
	}
}

// y[i] += b[channel of i]: a per-channel bias over (N,C,inner), y in NCHW
// or (nhwc) NHWC order.
extern "C" __global__ void dr_add_bias(void *y, int ty, const void *b, int tb, int nhwc, int c, int inner, int n) {
	DR_GRID_STRIDE(i, n) {
		dr_st(y, ty, i, dr_ld(y, ty, i) + dr_ld(b, tb, dr_chan(i, nhwc, c, inner)));
	}
}
