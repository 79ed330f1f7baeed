package ops

// ShortcutAStrides returns the strides of He et al.'s option-A shortcut that
// takes x (N,C,H,W) to y (N,K,Ho,Wo): sh = ceil(H/Ho) and sw = ceil(W/Wo),
// i.e. y takes x[:, :, ::sh, ::sw] (PyTorch's slicing, so 7 pixels → 4 with
// stride 2). ok is false unless N matches, K >= C, Ho and Wo are at least 1
// and the strides give exactly Ho and Wo pixels (5 → 4 has no stride). It is
// the one rule every backend applies, so they accept the same shapes. It
// panics unless both shapes are NCHW.
func ShortcutAStrides(x, y Shape) (sh, sw int, ok bool) {
	n, c, h, w := x.NCHW()
	ny, k, ho, wo := y.NCHW()
	if ny != n || k < c || ho < 1 || wo < 1 {
		return 0, 0, false
	}
	sh, sw = (h+ho-1)/ho, (w+wo-1)/wo
	if (h-1)/sh+1 != ho || (w-1)/sw+1 != wo {
		return 0, 0, false
	}
	return sh, sw, true
}
