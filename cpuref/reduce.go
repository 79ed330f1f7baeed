package cpuref

import (
	"fmt"
	"math"

	"github.com/deepres/deepres/ops"
)

// reduceChunk is the number of elements each partial sum of Reduce covers.
// It is fixed, not derived from the thread count, so the result is the same
// for any number of threads.
const reduceChunk = 1 << 14

// Reduce writes into dst (one element) the sum r of x's elements: float64
// partial sums over fixed chunks, added in chunk order.
func (b *Backend) Reduce(dst, x ops.Tensor, r ops.Reduction) {
	if b.viaNCHW("Reduce", 1, writeOnly, func(t []ops.Tensor) { b.Reduce(t[0], t[1], r) }, dst, x) {
		return
	}
	dt, xt := b.get("Reduce", dst), b.get("Reduce", x)
	defer b.store(dt)
	if len(dt.data) != 1 {
		panic(fmt.Sprintf("cpuref: Reduce: dst has shape %v, want one element", dt.shape))
	}
	if r < ops.ReduceSum || r > ops.ReduceSumAbs {
		panic(fmt.Sprintf("cpuref: Reduce: unknown reduction %v", r))
	}
	chunks := (len(xt.data) + reduceChunk - 1) / reduceChunk
	partial := make([]float64, chunks)
	b.parallelRange(chunks, 2, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			part := xt.data[ch*reduceChunk : min((ch+1)*reduceChunk, len(xt.data))]
			var sum float64
			switch r {
			case ops.ReduceSum:
				for _, v := range part {
					sum += float64(v)
				}
			case ops.ReduceSumSquares:
				for _, v := range part {
					sum += float64(v) * float64(v)
				}
			case ops.ReduceSumAbs:
				for _, v := range part {
					sum += math.Abs(float64(v))
				}
			}
			partial[ch] = sum
		}
	})
	var total float64
	for _, v := range partial {
		total += v
	}
	dt.data[0] = float32(total)
}
