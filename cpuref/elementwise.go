package cpuref

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// AddTensor: y = alpha·x + beta·y, element-wise, equal shapes. With beta 0, y
// is overwritten without being read, so NaN in y does not leak. y may alias x.
func (b *Backend) AddTensor(y, x ops.Tensor, alpha, beta float32) {
	if b.viaNCHW("AddTensor", 1, elementWise|rw(beta != 0), func(t []ops.Tensor) { b.AddTensor(t[0], t[1], alpha, beta) }, y, x) {
		return
	}
	yt, xt := b.get("AddTensor", y), b.get("AddTensor", x)
	defer b.store(yt)
	sameShape("AddTensor", yt, xt)
	b.parallelRange(len(xt.data), grain, func(lo, hi int) {
		dst, src := yt.data[lo:hi], xt.data[lo:hi]
		if beta == 0 {
			for i, v := range src {
				dst[i] = alpha * v
			}
			return
		}
		for i, v := range src {
			dst[i] = alpha*v + beta*dst[i]
		}
	})
}

// Mul: y = a⊙b + beta·y, element-wise, equal shapes. With beta 0, y is
// overwritten without being read. y may alias a or b.
func (b *Backend) Mul(y, a, c ops.Tensor, beta float32) {
	if b.viaNCHW("Mul", 1, elementWise|rw(beta != 0), func(t []ops.Tensor) { b.Mul(t[0], t[1], t[2], beta) }, y, a, c) {
		return
	}
	yt, at, ct := b.get("Mul", y), b.get("Mul", a), b.get("Mul", c)
	defer b.store(yt)
	sameShape("Mul", yt, at, ct)
	b.parallelRange(len(yt.data), grain, func(lo, hi int) {
		dst, x, z := yt.data[lo:hi], at.data[lo:hi], ct.data[lo:hi]
		if beta == 0 {
			for i, v := range x {
				dst[i] = v * z[i]
			}
			return
		}
		for i, v := range x {
			dst[i] = v*z[i] + beta*dst[i]
		}
	})
}

// DropoutMaskFrom is DropoutMask with seed + the seed base holds
// (ops.SeedWords).
func (b *Backend) DropoutMaskFrom(mask ops.Tensor, p float32, seed uint64, base ops.Tensor) {
	bt := b.get("DropoutMaskFrom", base)
	if len(bt.data) != 2 {
		panic("ops: DropoutMaskFrom's base must have 2 elements (ops.SeedWords)")
	}
	b.DropoutMask(mask, p, seed+ops.SeedFromWords([2]float32{bt.data[0], bt.data[1]}))
}

// DropoutMask fills mask with 1/(1−p) where ops.DropoutKeep(seed, i, p) keeps
// element i (i counts over the whole tensor), else 0. p must be in [0, 1].
func (b *Backend) DropoutMask(mask ops.Tensor, p float32, seed uint64) {
	if b.viaNCHW("DropoutMask", 1, writeOnly, func(t []ops.Tensor) { b.DropoutMask(t[0], p, seed) }, mask) {
		return
	}
	mt := b.get("DropoutMask", mask)
	defer b.store(mt)
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("cpuref: DropoutMask: drop probability %v outside [0, 1]", p))
	}
	scale := 1 / (1 - p)
	b.parallelRange(len(mt.data), grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if p < 1 && ops.DropoutKeep(seed, i, p) {
				mt.data[i] = scale
			} else {
				mt.data[i] = 0
			}
		}
	})
}
