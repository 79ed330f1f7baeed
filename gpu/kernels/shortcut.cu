// He et al.'s option-A shortcut: y (N,K,Ho,Wo) takes x (N,C,H,W)[:, :, ::sh, ::sw]
// in channels < C and zero in the others (strides from ops.ShortcutAStrides:
// ceil(H/Ho), ceil(W/Wo)). x and y both NCHW or both (nhwc) NHWC.

// dr_coords splits storage index i of an (N,C,H,W) tensor into its logical
// sample b, channel ch, row r and column q.
__device__ inline void dr_coords(int i, int nhwc, int c, int h, int w, int *b, int *ch, int *r, int *q) {
	if (nhwc) {
		*ch = i % c;
		int p = i / c;
		*q = p % w;
		*r = (p / w) % h;
		*b = p / (w * h);
		return;
	}
	*q = i % w;
	*r = (i / w) % h;
	*ch = (i / (w * h)) % c;
	*b = i / (w * h * c);
}

// dr_index is the storage index of logical element (b, ch, r, q).
__device__ inline int dr_index(int nhwc, int c, int h, int w, int b, int ch, int r, int q) {
	return nhwc ? ((b * h + r) * w + q) * c + ch : ((b * c + ch) * h + r) * w + q;
}

extern "C" __global__ void dr_shortcut_a_forward(void *y, int ty, const void *x, int tx, int nhwc,
		int c, int h, int w, int k, int ho, int wo, int sh, int sw, int n) {
	DR_GRID_STRIDE(i, n) { // i over y
		int b, ch, oh, ow;
		dr_coords(i, nhwc, k, ho, wo, &b, &ch, &oh, &ow);
		dr_st(y, ty, i, ch < c ? dr_ld(x, tx, dr_index(nhwc, c, h, w, b, ch, oh * sh, ow * sw)) : 0.0f);
	}
}

// dx (add ? += : =) the gradient: dy at the sampled pixels, 0 elsewhere.
extern "C" __global__ void dr_shortcut_a_backward(void *dx, int tdx, const void *dy, int tdy, int nhwc,
		int c, int h, int w, int k, int ho, int wo, int sh, int sw, int add, int n) {
	DR_GRID_STRIDE(i, n) { // i over dx
		int b, ch, ih, iw;
		dr_coords(i, nhwc, c, h, w, &b, &ch, &ih, &iw);
		float v = 0.0f;
		if (ih % sh == 0 && iw % sw == 0 && ih / sh < ho && iw / sw < wo) {
			v = dr_ld(dy, tdy, dr_index(nhwc, k, ho, wo, b, ch, ih / sh, iw / sw));
		}
		dr_st(dx, tdx, i, add ? dr_ld(dx, tdx, i) + v : v);
	}
}
