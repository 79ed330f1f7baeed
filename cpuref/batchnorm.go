package cpuref

import (
	"fmt"
	"math"

	"github.com/deepres/deepres/ops"
)

// bnShapes checks x (N,C,H,W) against the per-channel tensors (C) and returns
// N, C and H·W.
func bnShapes(op string, x *tensor, perChannel ...*tensor) (n, c, hw int) {
	n, c, h, w := nchw(op, "x", x)
	for _, t := range perChannel {
		wantShape(op, "per-channel tensor", t, c)
	}
	return n, c, h * w
}

// BatchNormForwardTraining normalises x (N,C,H,W) per channel with the batch
// mean and biased variance, y = gamma·(x−mean)·invStd + beta; writes saveMean
// and saveInvStd (C); moves runMean and runVar (C) by Momentum, runVar towards
// the unbiased variance (PyTorch's and cuDNN's convention, docs/design.md). Sums are
// float64 (four lanes, see lanes4), two-pass, one goroutine per channel
// range. y may alias x.
func (b *Backend) BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	if b.viaNCHW("BatchNormForwardTraining", 1, writeOnly, func(t []ops.Tensor) { b.BatchNormForwardTraining(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], p) }, y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd) {
		return
	}
	const op = "BatchNormForwardTraining"
	yt, xt := b.get(op, y), b.get(op, x)
	gt, bt, rm, rv := b.get(op, gamma), b.get(op, beta), b.get(op, runMean), b.get(op, runVar)
	sm, si := b.get(op, saveMean), b.get(op, saveInvStd)
	defer b.store(yt, rm, rv, sm, si)
	sameShape(op, xt, yt)
	n, c, hw := bnTrainingShapes(op, xt, gt, bt, rm, rv, sm, si)
	b.parallelRange(c, 2, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mean, inv := trainStats(xt, n, c, hw, ch, sm, si, rm, rv, p)
			scale, shift := float64(gt.data[ch])*inv, float64(bt.data[ch])
			for s := range n {
				lo, hi := (s*c+ch)*hw, (s*c+ch+1)*hw
				dst, src := yt.data[lo:hi], xt.data[lo:hi]
				for i, v := range src {
					dst[i] = float32((float64(v)-mean)*scale + shift)
				}
			}
		}
	})
}

// BatchNormForwardInference: y = gamma·(x−runMean)/sqrt(runVar+Eps) + beta,
// x and y (N,C,H,W), the rest (C). y may alias x.
func (b *Backend) BatchNormForwardInference(y, x, gamma, beta, runMean, runVar ops.Tensor, p ops.BatchNormParams) {
	if b.viaNCHW("BatchNormForwardInference", 1, writeOnly, func(t []ops.Tensor) { b.BatchNormForwardInference(t[0], t[1], t[2], t[3], t[4], t[5], p) }, y, x, gamma, beta, runMean, runVar) {
		return
	}
	const op = "BatchNormForwardInference"
	yt, xt := b.get(op, y), b.get(op, x)
	gt, bt, rm, rv := b.get(op, gamma), b.get(op, beta), b.get(op, runMean), b.get(op, runVar)
	defer b.store(yt)
	sameShape(op, xt, yt)
	n, c, hw := bnShapes(op, xt, gt, bt, rm, rv)
	b.parallelRange(c, 2, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mean := float64(rm.data[ch])
			scale := float64(gt.data[ch]) / math.Sqrt(float64(rv.data[ch])+p.Eps)
			shift := float64(bt.data[ch])
			for s := range n {
				lo, hi := (s*c+ch)*hw, (s*c+ch+1)*hw
				dst, src := yt.data[lo:hi], xt.data[lo:hi]
				for i, v := range src {
					dst[i] = float32((float64(v)-mean)*scale + shift)
				}
			}
		}
	})
}

// BatchNormBackward: from dy and the x, saveMean, saveInvStd of the training
// forward pass (x, dy, dx (N,C,H,W); the rest (C)), with x̂ = (x−mean)·invStd
// and M = N·H·W:
//
//	dbeta = Σ dy;  dgamma = Σ dy·x̂  (overwritten)
//	dx (add?+=:=) gamma·invStd/M · (M·dy − dbeta − x̂·dgamma)
func (b *Backend) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	if b.viaNCHW("BatchNormBackward", 3, rw(add), func(t []ops.Tensor) { b.BatchNormBackward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], p, add) }, dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd) {
		return
	}
	const op = "BatchNormBackward"
	dxt, dyt, xt := b.get(op, dx), b.get(op, dy), b.get(op, x)
	dg, db, gt, sm, si := b.get(op, dgamma), b.get(op, dbeta), b.get(op, gamma), b.get(op, saveMean), b.get(op, saveInvStd)
	defer b.store(dxt, dg, db)
	sameShape(op, xt, dyt, dxt)
	n, c, hw := bnShapes(op, xt, dg, db, gt, sm, si)
	m := float64(n * hw)
	b.parallelRange(c, 2, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mean, inv := float64(sm.data[ch]), float64(si.data[ch])
			var dyLanes, dyXhatLanes lanes4
			for s := range n {
				lo, hi := (s*c+ch)*hw, (s*c+ch+1)*hw
				addGradients(&dyLanes, &dyXhatLanes, dyt.data[lo:hi], xt.data[lo:hi], mean, inv)
			}
			sumDy, sumDyXhat := dyLanes.total(), dyXhatLanes.total()
			db.data[ch], dg.data[ch] = float32(sumDy), float32(sumDyXhat)
			k := float64(gt.data[ch]) * inv / m
			for s := range n {
				lo, hi := (s*c+ch)*hw, (s*c+ch+1)*hw
				xs, dys, dxs := xt.data[lo:hi], dyt.data[lo:hi], dxt.data[lo:hi]
				for i, g := range dys {
					xhat := (float64(xs[i]) - mean) * inv
					v := float32(k * (m*float64(g) - sumDy - xhat*sumDyXhat))
					if add {
						dxs[i] += v
					} else {
						dxs[i] = v
					}
				}
			}
		}
	})
}

// bnTrainingShapes is bnShapes for training, where each channel needs two
// values at least: the unbiased batch variance divides by their count − 1.
func bnTrainingShapes(op string, x *tensor, perChannel ...*tensor) (n, c, hw int) {
	n, c, hw = bnShapes(op, x, perChannel...)
	if n*hw < 2 {
		panic(fmt.Sprintf("cpuref: %s: x %v has one value per channel; the batch variance needs two", op, x.shape))
	}
	return n, c, hw
}

// trainStats is channel ch's batch mean and inverse standard deviation of x
// (N,C,H,W), saved into saveMean and saveInvStd, with the running averages
// moved: BatchNormForwardTraining's rule, which the fused op shares.
func trainStats(xt *tensor, n, c, hw, ch int, sm, si, rm, rv *tensor, p ops.BatchNormParams) (mean, inv float64) {
	m := n * hw
	mean, sq := channelMoments(xt.data, n, c, hw, ch)
	inv = 1 / math.Sqrt(sq/float64(m)+p.Eps)
	sm.data[ch], si.data[ch] = float32(mean), float32(inv)
	rm.data[ch] = float32((1-p.Momentum)*float64(rm.data[ch]) + p.Momentum*mean)
	rv.data[ch] = float32((1-p.Momentum)*float64(rv.data[ch]) + p.Momentum*sq/float64(m-1))
	return mean, inv
}
