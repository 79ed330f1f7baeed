package cpuref

import (
	"math"

	"github.com/deepres/deepres/ops"
)

// BatchNormAddReLUForwardTraining: y = max(BN(x) + z, 0), BN as in
// BatchNormForwardTraining (same statistics, saved and running, in the same
// float64 sums), z nil adding nothing. BN(x) is rounded to float32 before z
// is added, as the separate ops round it (BatchNormForwardTraining writes
// float32, then AddTensor and ReLUForward). y may alias x or z: each
// element is read before it is written.
func (b *Backend) BatchNormAddReLUForwardTraining(y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	if b.viaNCHW("BatchNormAddReLUForwardTraining", 1, writeOnly, func(t []ops.Tensor) {
		b.BatchNormAddReLUForwardTraining(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], p)
	}, y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd) {
		return
	}
	const op = "BatchNormAddReLUForwardTraining"
	yt, xt := b.get(op, y), b.get(op, x)
	gt, bt, rm, rv := b.get(op, gamma), b.get(op, beta), b.get(op, runMean), b.get(op, runVar)
	sm, si := b.get(op, saveMean), b.get(op, saveInvStd)
	defer b.store(yt, rm, rv, sm, si) // a half output rounded once, when stored (half.go)
	sameShape(op, xt, yt)
	var zt *tensor
	if z != nil {
		zt = b.get(op, z)
		sameShape(op, xt, zt)
	}
	n, c, hw := bnTrainingShapes(op, xt, gt, bt, rm, rv, sm, si)
	b.parallelRange(c, 2, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mean, inv := trainStats(xt, n, c, hw, ch, sm, si, rm, rv, p)
			scale, shift := float64(gt.data[ch])*inv, float64(bt.data[ch])
			for s := range n {
				lo, hi := (s*c+ch)*hw, (s*c+ch+1)*hw
				for i := lo; i < hi; i++ {
					v := float32((float64(xt.data[i])-mean)*scale + shift)
					if zt != nil {
						v += zt.data[i]
					}
					yt.data[i] = max(v, 0)
				}
			}
		}
	})
}

// channelMoments returns channel ch's mean and sum of squared deviations
// over x (N,C,H·W), two-pass in float64 as BatchNormForwardTraining.
func channelMoments(x []float32, n, c, hw, ch int) (mean, sqDev float64) {
	var sum, sq lanes4
	for s := range n {
		sum.add(x[(s*c+ch)*hw : (s*c+ch+1)*hw])
	}
	mean = sum.total() / float64(n*hw)
	for s := range n {
		sq.addSquaredDeviations(x[(s*c+ch)*hw:(s*c+ch+1)*hw], mean)
	}
	return mean, sq.total()
}

// BatchNormAddReLUBackward: with g = dy where y > 0, else 0 (the ReLU's
// mask, from the forward output), dz (add?+=:=) g unless nil, and the
// batch-norm gradient of g (BatchNormBackward's formulas):
//
//	dbeta = Σ g;  dgamma = Σ g·x̂  (overwritten)
//	dx (add?+=:=) gamma·invStd/M · (M·g − dbeta − x̂·dgamma)
func (b *Backend) BatchNormAddReLUBackward(dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	if b.viaNCHW("BatchNormAddReLUBackward", 4, rw(add), func(t []ops.Tensor) {
		b.BatchNormAddReLUBackward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], p, add)
	}, dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd) {
		return
	}
	const op = "BatchNormAddReLUBackward"
	dxt, dyt, yt, xt := b.get(op, dx), b.get(op, dy), b.get(op, y), b.get(op, x)
	dg, db, gt, sm, si := b.get(op, dgamma), b.get(op, dbeta), b.get(op, gamma), b.get(op, saveMean), b.get(op, saveInvStd)
	sameShape(op, xt, yt, dyt, dxt)
	var dzt *tensor
	if dz != nil {
		dzt = b.get(op, dz)
		sameShape(op, xt, dzt)
	}
	defer b.store(dxt, dzt, dg, db)
	n, c, hw := bnShapes(op, xt, dg, db, gt, sm, si)
	m := float64(n * hw)
	masked := func(i int) float32 { // g: dy through the ReLU
		return math.Float32frombits(math.Float32bits(dyt.data[i]) & positiveMask(yt.data[i]))
	}
	put := func(dst []float32, i int, v float32) {
		if add {
			dst[i] += v
		} else {
			dst[i] = v
		}
	}
	b.parallelRange(c, 2, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mean, inv := float64(sm.data[ch]), float64(si.data[ch])
			var sumG, sumGXhat float64
			for s := range n {
				for i := (s*c + ch) * hw; i < (s*c+ch+1)*hw; i++ {
					g := float64(masked(i))
					sumG += g
					sumGXhat += g * (float64(xt.data[i]) - mean) * inv
				}
			}
			db.data[ch], dg.data[ch] = float32(sumG), float32(sumGXhat)
			k := float64(gt.data[ch]) * inv / m
			for s := range n {
				for i := (s*c + ch) * hw; i < (s*c+ch+1)*hw; i++ {
					g := masked(i)
					xhat := (float64(xt.data[i]) - mean) * inv
					put(dxt.data, i, float32(k*(m*float64(g)-sumG-xhat*sumGXhat)))
					if dzt != nil {
						put(dzt.data, i, g)
					}
				}
			}
		}
	})
}
