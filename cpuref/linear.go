package cpuref

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// linearShapes checks x (N,in), w (out,in) and y (N,out) and returns N, in, out.
func linearShapes(op string, y, x, w *tensor) (n, in, out int) {
	n, in = matrix(op, "x", x)
	out, win := matrix(op, "w", w)
	if win != in {
		panic(fmt.Sprintf("cpuref: %s: x %v has %d features, w %v expects %d", op, x.shape, in, w.shape, win))
	}
	wantShape(op, "y", y, n, out)
	return n, in, out
}

// LinearForward: y (N,out) = x (N,in) · wᵀ, w (out,in); overwritten. Dot
// products in float64: the layer is tiny beside the convolutions.
func (b *Backend) LinearForward(y, x, w ops.Tensor) {
	if b.viaNCHW("LinearForward", 1, writeOnly, func(t []ops.Tensor) { b.LinearForward(t[0], t[1], t[2]) }, y, x, w) {
		return
	}
	const op = "LinearForward"
	yt, xt, wt := b.get(op, y), b.get(op, x), b.get(op, w)
	defer b.store(yt)
	n, in, out := linearShapes(op, yt, xt, wt)
	b.parallelRange(n, 2, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			xs := xt.data[s*in : (s+1)*in]
			for o := range out {
				ws := wt.data[o*in : (o+1)*in]
				var sum float64
				for j, v := range xs {
					sum += float64(v) * float64(ws[j])
				}
				yt.data[s*out+o] = float32(sum)
			}
		}
	})
}

// LinearBackwardData: dx (N,in) (add?+=:=) dy (N,out) · w (out,in).
func (b *Backend) LinearBackwardData(dx, dy, w ops.Tensor, add bool) {
	if b.viaNCHW("LinearBackwardData", 1, rw(add), func(t []ops.Tensor) { b.LinearBackwardData(t[0], t[1], t[2], add) }, dx, dy, w) {
		return
	}
	const op = "LinearBackwardData"
	dxt, dyt, wt := b.get(op, dx), b.get(op, dy), b.get(op, w)
	defer b.store(dxt)
	n, in, out := linearShapes(op, dyt, dxt, wt)
	b.parallelRange(n, 2, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			g := dyt.data[s*out : (s+1)*out]
			for j := range in {
				var sum float64
				for o, v := range g {
					sum += float64(v) * float64(wt.data[o*in+j])
				}
				if add {
					dxt.data[s*in+j] += float32(sum)
				} else {
					dxt.data[s*in+j] = float32(sum)
				}
			}
		}
	})
}

// LinearBackwardWeight: dw (out,in) = dyᵀ (out,N) · x (N,in), summed over
// the batch in float64; overwritten.
func (b *Backend) LinearBackwardWeight(dw, dy, x ops.Tensor) {
	if b.viaNCHW("LinearBackwardWeight", 1, writeOnly, func(t []ops.Tensor) { b.LinearBackwardWeight(t[0], t[1], t[2]) }, dw, dy, x) {
		return
	}
	const op = "LinearBackwardWeight"
	dwt, dyt, xt := b.get(op, dw), b.get(op, dy), b.get(op, x)
	defer b.store(dwt)
	n, in, out := linearShapes(op, dyt, xt, dwt)
	b.parallelRange(out, 2, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for j := range in {
				var sum float64
				for s := range n {
					sum += float64(dyt.data[s*out+o]) * float64(xt.data[s*in+j])
				}
				dwt.data[o*in+j] = float32(sum)
			}
		}
	})
}
