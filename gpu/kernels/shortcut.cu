// He et al.'s option-A shortcut: y (N,K,Ho,Wo) takes every s-th pixel of
// x (N,C,H,W) in channels < C and zero in the others.
extern "C" __global__ void dr_shortcut_a_forward(float *y, const float *x,
		int c, int h, int w, int k, int ho, int wo, int s, int n) {
	DR_GRID_STRIDE(i, n) { // i over y
		int ow = i % wo, oh = (i / wo) % ho, ch = (i / (wo * ho)) % k, b = i / (wo * ho * k);
		y[i] = ch < c ? x[((b * c + ch) * h + oh * s) * w + ow * s] : 0.0f;
	}
}

// dx (add ? += : =) the gradient: dy at the sampled pixels, 0 elsewhere.
extern "C" __global__ void dr_shortcut_a_backward(float *dx, const float *dy,
		int c, int h, int w, int k, int ho, int wo, int s, int add, int n) {
	DR_GRID_STRIDE(i, n) { // i over dx
		int iw = i % w, ih = (i / w) % h, ch = (i / (w * h)) % c, b = i / (w * h * c);
		float v = 0.0f;
		if (ih % s == 0 && iw % s == 0 && ih / s < ho && iw / s < wo) {
			v = dy[((b * k + ch) * ho + ih / s) * wo + iw / s];
		}
		dx[i] = add ? dx[i] + v : v;
	}
}
