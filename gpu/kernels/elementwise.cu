// Element-wise kernels over n float32 elements; every one writes its output
// without reading it when the blend factor is 0, so a NaN-poisoned output is
// overwritten.

// y = alpha*x + beta*y; y may alias x.
extern "C" __global__ void dr_add_tensor(float *y, const float *x, float alpha, float beta, int n) {
	DR_GRID_STRIDE(i, n) {
		float v = alpha * x[i];
		y[i] = beta == 0.0f ? v : v + beta * y[i];
	}
}

// y = a*b + beta*y; y may alias a or b.
extern "C" __global__ void dr_mul(float *y, const float *a, const float *b, float beta, int n) {
	DR_GRID_STRIDE(i, n) {
		float v = a[i] * b[i];
		y[i] = beta == 0.0f ? v : v + beta * y[i];
	}
}

// dx (add ? += : =) dy*y*(1-y), the sigmoid's gradient from its output.
extern "C" __global__ void dr_sigmoid_backward(float *dx, const float *dy, const float *y, int add, int n) {
	DR_GRID_STRIDE(i, n) {
		float v = dy[i] * y[i] * (1.0f - y[i]);
		dx[i] = add ? dx[i] + v : v;
	}
}

// mask[i] = scale if element i is kept, else 0: ops.DropoutUniform, bit for
// bit (SplitMix64's finaliser over seed + (i+1)*golden, top 24 bits / 2^24).
// scale = 1/(1-p) is computed on the host as cpuref does.
extern "C" __global__ void dr_dropout_mask(float *mask, float p, float scale, unsigned long long seed, int n) {
	DR_GRID_STRIDE(i, n) {
		unsigned long long z = seed + (unsigned long long)(i + 1) * 0x9E3779B97F4A7C15ULL;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		z ^= z >> 31;
		float u = (float)(z >> 40) / 16777216.0f;
		mask[i] = u >= p ? scale : 0.0f;
	}
}

// dr_dropout_mask with seed + the 64-bit base at base[0] (low 32 bits) and
// base[1] (high), written before a captured step's launch (ops.SeedWords).
extern "C" __global__ void dr_dropout_mask_from(float *mask, float p, float scale, unsigned long long seed,
		const unsigned int *base, int n) {
	unsigned long long s = seed + ((unsigned long long)base[1] << 32 | base[0]);
	DR_GRID_STRIDE(i, n) {
		unsigned long long z = s + (unsigned long long)(i + 1) * 0x9E3779B97F4A7C15ULL;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		z ^= z >> 31;
		float u = (float)(z >> 40) / 16777216.0f;
		mask[i] = u >= p ? scale : 0.0f;
	}
}

// y[i] += b[(i / inner) % c]: a per-channel bias over (N,C,inner).
extern "C" __global__ void dr_add_bias(float *y, const float *b, int c, int inner, int n) {
	DR_GRID_STRIDE(i, n) {
		y[i] += b[(i / inner) % c];
	}
}
