package cpuref

import (
	"math"

	"github.com/deepres/deepres/ops"
)

// grain is the number of elements below which element-wise ops run on the
// calling goroutine: starting goroutines costs more than the loop.
const grain = 1 << 14

// ReLUForward: y = max(x, 0), equal shapes. y may alias x.
func (b *Backend) ReLUForward(y, x ops.Tensor) {
	if b.viaNCHW("ReLUForward", 1, elementWise, func(t []ops.Tensor) { b.ReLUForward(t[0], t[1]) }, y, x) {
		return
	}
	yt, xt := b.get("ReLUForward", y), b.get("ReLUForward", x)
	defer b.store(yt)
	sameShape("ReLUForward", xt, yt)
	b.parallelRange(len(xt.data), grain, func(lo, hi int) {
		dst, src := yt.data[lo:hi], xt.data[lo:hi]
		for i, v := range src {
			dst[i] = max(v, 0)
		}
	})
}

// ReLUBackward: dx (add?+=:=) dy where y > 0, else 0; y is the forward output.
// The test y > 0 is done on the bits, without a branch: the signs of a
// ReLU's input are random, and a mispredicted branch per element made this
// the slowest element-wise op of a training step.
func (b *Backend) ReLUBackward(dx, dy, y ops.Tensor, add bool) {
	if b.viaNCHW("ReLUBackward", 1, elementWise|rw(add), func(t []ops.Tensor) { b.ReLUBackward(t[0], t[1], t[2], add) }, dx, dy, y) {
		return
	}
	const op = "ReLUBackward"
	dxt, dyt, yt := b.get(op, dx), b.get(op, dy), b.get(op, y)
	defer b.store(dxt)
	sameShape(op, yt, dyt, dxt)
	b.parallelRange(len(yt.data), grain, func(lo, hi int) {
		dst, g, out := dxt.data[lo:hi], dyt.data[lo:hi], yt.data[lo:hi]
		g = g[:len(out)]
		dst = dst[:len(out)]
		if add {
			for i, v := range out {
				dst[i] += math.Float32frombits(math.Float32bits(g[i]) & positiveMask(v))
			}
			return
		}
		for i, v := range out {
			dst[i] = math.Float32frombits(math.Float32bits(g[i]) & positiveMask(v))
		}
	})
}

// positiveMask is all ones when v > 0 and zero otherwise (zeros, negative
// numbers, NaN): v > 0 exactly when its bits less one (wrapping, so +0 gives
// the largest value) are below those of +Inf, which the borrow of a 64-bit
// subtraction tells.
func positiveMask(v float32) uint32 {
	d := uint64(math.Float32bits(v) - 1)
	return -uint32((d - 0x7F800000) >> 63)
}

// SigmoidForward: y = 1/(1+exp(−x)), computed in float64. y may alias x.
func (b *Backend) SigmoidForward(y, x ops.Tensor) {
	if b.viaNCHW("SigmoidForward", 1, elementWise, func(t []ops.Tensor) { b.SigmoidForward(t[0], t[1]) }, y, x) {
		return
	}
	yt, xt := b.get("SigmoidForward", y), b.get("SigmoidForward", x)
	defer b.store(yt)
	sameShape("SigmoidForward", xt, yt)
	b.parallelRange(len(xt.data), grain, func(lo, hi int) {
		dst, src := yt.data[lo:hi], xt.data[lo:hi]
		for i, v := range src {
			dst[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	})
}

// SigmoidBackward: dx (add?+=:=) dy·y·(1−y); y is the forward output.
func (b *Backend) SigmoidBackward(dx, dy, y ops.Tensor, add bool) {
	if b.viaNCHW("SigmoidBackward", 1, elementWise|rw(add), func(t []ops.Tensor) { b.SigmoidBackward(t[0], t[1], t[2], add) }, dx, dy, y) {
		return
	}
	const op = "SigmoidBackward"
	dxt, dyt, yt := b.get(op, dx), b.get(op, dy), b.get(op, y)
	defer b.store(dxt)
	sameShape(op, yt, dyt, dxt)
	b.parallelRange(len(yt.data), grain, func(lo, hi int) {
		dst, g, out := dxt.data[lo:hi], dyt.data[lo:hi], yt.data[lo:hi]
		for i, v := range out {
			d := g[i] * v * (1 - v)
			if add {
				dst[i] += d
			} else {
				dst[i] = d
			}
		}
	})
}
