// He et al.'s option-A shortcut: y (N,K,Ho,Wo) takes x (N,C,H,W)[:, :, ::sh, ::sw]
// in channels < C and zero in the others (strides from ops.ShortcutAStrides:
// ceil(H/Ho), ceil(W/Wo)).
extern "C" __global__ void dr_shortcut_a_forward(void *y, int ty, const void *x, int tx,
		int c, int h, int w, int k, int ho, int wo, int sh, int sw, int n) {
	DR_GRID_STRIDE(i, n) { // i over y
		int ow = i % wo, oh = (i / wo) % ho, ch = (i / (wo * ho)) % k, b = i / (wo * ho * k);
		dr_st(y, ty, i, ch < c ? dr_ld(x, tx, ((b * c + ch) * h + oh * sh) * w + ow * sw) : 0.0f);
	}
}

// dx (add ? += : =) the gradient: dy at the sampled pixels, 0 elsewhere.
extern "C" __global__ void dr_shortcut_a_backward(void *dx, int tdx, const void *dy, int tdy,
		int c, int h, int w, int k, int ho, int wo, int sh, int sw, int add, int n) {
	DR_GRID_STRIDE(i, n) { // i over dx
		int iw = i % w, ih = (i / w) % h, ch = (i / (w * h)) % c, b = i / (w * h * c);
		float v = 0.0f;
		if (ih % sh == 0 && iw % sw == 0 && ih / sh < ho && iw / sw < wo) {
			v = dr_ld(dy, tdy, ((b * k + ch) * ho + ih / sh) * wo + iw / sw);
		}
		dr_st(dx, tdx, i, add ? dr_ld(dx, tdx, i) + v : v);
	}
}
