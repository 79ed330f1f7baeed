package cpuref

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// biasShape returns N, C and the number of values per (sample, channel) of a
// tensor (N,C,H,W) or (N,C) that a bias (C) is broadcast over.
func biasShape(op string, y, bias *tensor) (n, c, hw int) {
	switch len(y.shape) {
	case 2:
		n, c, hw = y.shape[0], y.shape[1], 1
	case 4:
		n, c, hw = y.shape[0], y.shape[1], y.shape[2]*y.shape[3]
	default:
		panic(fmt.Sprintf("cpuref: %s: tensor of shape %v is neither (N,C,H,W) nor (N,C)", op, y.shape))
	}
	wantShape(op, "bias", bias, c)
	return n, c, hw
}

// AddBias: y (N,C,H,W) or (N,C) += b (C) broadcast over the other axes. In place.
func (b *Backend) AddBias(y, bias ops.Tensor) {
	if b.viaNCHW("AddBias", 1, readWrite, func(t []ops.Tensor) { b.AddBias(t[0], t[1]) }, y, bias) {
		return
	}
	yt, bt := b.get("AddBias", y), b.get("AddBias", bias)
	defer b.store(yt)
	n, c, hw := biasShape("AddBias", yt, bt)
	b.parallelRange(n, 2, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			for ch, v := range bt.data {
				row := yt.data[(s*c+ch)*hw : (s*c+ch+1)*hw]
				for i := range row {
					row[i] += v
				}
			}
		}
	})
}

// BiasBackward: db (C) = Σ over N, H, W of dy (N,C,H,W) or (N,C), in float64; overwritten.
func (b *Backend) BiasBackward(db, dy ops.Tensor) {
	if b.viaNCHW("BiasBackward", 1, writeOnly, func(t []ops.Tensor) { b.BiasBackward(t[0], t[1]) }, db, dy) {
		return
	}
	dbt, dyt := b.get("BiasBackward", db), b.get("BiasBackward", dy)
	defer b.store(dbt)
	n, c, hw := biasShape("BiasBackward", dyt, dbt)
	b.parallelRange(c, 2, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var sum float64
			for s := range n {
				for _, v := range dyt.data[(s*c+ch)*hw : (s*c+ch+1)*hw] {
					sum += float64(v)
				}
			}
			dbt.data[ch] = float32(sum)
		}
	})
}
