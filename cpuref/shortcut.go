package cpuref

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// shortcutShapes checks y (N,K,Ho,Wo) against x (N,C,H,W) and returns the
// dimensions and strides, by ops.ShortcutAStrides (ceil(H/Ho), ceil(W/Wo):
// H/Ho when it divides, and for odd sizes the stride of PyTorch's
// x[:, :, ::2, ::2], 7 pixels → 4), the rule every backend shares.
func shortcutShapes(op string, y, x *tensor) (n, c, h, w, k, ho, wo, sh, sw int) {
	n, c, h, w = nchw(op, "x", x)
	_, k, ho, wo = nchw(op, "y", y)
	sh, sw, ok := ops.ShortcutAStrides(x.shape, y.shape)
	if !ok {
		panic(fmt.Sprintf("cpuref: %s: y %v cannot be the option-A shortcut of x %v", op, y.shape, x.shape))
	}
	return
}

// ShortcutAForward is He et al.'s option-A shortcut: y (N,K,Ho,Wo) holds every
// s-th pixel of x (N,C,H,W) in channels 0..C−1 and zero in C..K−1; y is overwritten.
func (b *Backend) ShortcutAForward(y, x ops.Tensor) {
	if b.viaNCHW("ShortcutAForward", 1, writeOnly, func(t []ops.Tensor) { b.ShortcutAForward(t[0], t[1]) }, y, x) {
		return
	}
	const op = "ShortcutAForward"
	yt, xt := b.get(op, y), b.get(op, x)
	defer b.store(yt)
	n, c, h, w, k, ho, wo, sh, sw := shortcutShapes(op, yt, xt)
	b.parallelRange(n, 2, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			for ch := range k {
				dst := yt.data[(s*k+ch)*ho*wo : (s*k+ch+1)*ho*wo]
				if ch >= c {
					clear(dst)
					continue
				}
				src := xt.data[(s*c+ch)*h*w : (s*c+ch+1)*h*w]
				for oy := range ho {
					for ox := range wo {
						dst[oy*wo+ox] = src[oy*sh*w+ox*sw]
					}
				}
			}
		}
	})
}

// ShortcutABackward: dx (N,C,H,W) (add?+=:=) the gradient of
// ShortcutAForward from dy (N,K,Ho,Wo): dy's first C channels go back to the
// pixels they came from; the gradient of the padded channels is dropped.
func (b *Backend) ShortcutABackward(dx, dy ops.Tensor, add bool) {
	if b.viaNCHW("ShortcutABackward", 1, rw(add), func(t []ops.Tensor) { b.ShortcutABackward(t[0], t[1], add) }, dx, dy) {
		return
	}
	const op = "ShortcutABackward"
	dxt, dyt := b.get(op, dx), b.get(op, dy)
	defer b.store(dxt)
	n, c, h, w, k, ho, wo, sh, sw := shortcutShapes(op, dyt, dxt)
	b.parallelRange(n, 2, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			for ch := range c {
				dst := dxt.data[(s*c+ch)*h*w : (s*c+ch+1)*h*w]
				src := dyt.data[(s*k+ch)*ho*wo : (s*k+ch+1)*ho*wo]
				if !add {
					clear(dst)
				}
				for oy := range ho {
					for ox := range wo {
						dst[oy*sh*w+ox*sw] += src[oy*wo+ox]
					}
				}
			}
		}
	})
}
