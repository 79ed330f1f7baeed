package cpuref

import "github.com/deepres/deepres/ops"

// GlobalAvgPoolForward: y (N,C) = the mean of x (N,C,H,W) over H and W, summed in float64.
func (b *Backend) GlobalAvgPoolForward(y, x ops.Tensor) {
	if b.viaNCHW("GlobalAvgPoolForward", 1, writeOnly, func(t []ops.Tensor) { b.GlobalAvgPoolForward(t[0], t[1]) }, y, x) {
		return
	}
	const op = "GlobalAvgPoolForward"
	yt, xt := b.get(op, y), b.get(op, x)
	defer b.store(yt)
	n, c, h, w := nchw(op, "x", xt)
	wantShape(op, "y", yt, n, c)
	hw := h * w
	b.parallelRange(n*c, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var sum float64
			for _, v := range xt.data[i*hw : (i+1)*hw] {
				sum += float64(v)
			}
			yt.data[i] = float32(sum / float64(hw))
		}
	})
}

// GlobalAvgPoolBackward: dx (N,C,H,W) (add?+=:=) dy (N,C)/(H·W), broadcast over H and W.
func (b *Backend) GlobalAvgPoolBackward(dx, dy ops.Tensor, add bool) {
	if b.viaNCHW("GlobalAvgPoolBackward", 1, rw(add), func(t []ops.Tensor) { b.GlobalAvgPoolBackward(t[0], t[1], add) }, dx, dy) {
		return
	}
	const op = "GlobalAvgPoolBackward"
	dxt, dyt := b.get(op, dx), b.get(op, dy)
	defer b.store(dxt)
	n, c, h, w := nchw(op, "dx", dxt)
	wantShape(op, "dy", dyt, n, c)
	hw := h * w
	b.parallelRange(n*c, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := dyt.data[i] / float32(hw)
			dst := dxt.data[i*hw : (i+1)*hw]
			for j := range dst {
				if add {
					dst[j] += g
				} else {
					dst[j] = g
				}
			}
		}
	})
}
