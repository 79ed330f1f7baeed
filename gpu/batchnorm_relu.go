package gpu

import (
	"math"

	"github.com/deepres/deepres/ops"
)

// The fused batch norm + addition + ReLU runs deepres's own kernels
// (kernels/reduce_bn.cu), in every layout and storage type, not cuDNN's
// cudnnBatchNormalizationForwardTrainingEx / BackwardEx with
// CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION, which compute the same
// "y = relu(BN(x) + z)" (cudnn_ops.h of cuDNN 9.28.1). The package cudnn
// wraps those calls (Handle.BatchNormForwardTrainingEx), checked under the
// simulator and against the real cuDNN's host-side refusals (cudnn/
// batchnorm.go and internal/cudasim/cudnn/bnex.c list them): they fuse
// only in mode CUDNN_BATCHNORM_SPATIAL_PERSISTENT on float16 NHWC tensors
// (bfloat16 is not among the documented types), with ReLU, alpha 1 and
// beta 0 (the backward cannot add into dx, which this op's contract
// allows), no output over an input, and a reserve space per call that must
// survive from the forward to the backward pass: one more buffer per
// batch norm, a bit per element, which these kernels avoid by reading the
// mask from y. The header also marks them CUDNN_DEPRECATED, "Use graph API
// instead". What would make them worth those costs is speed, which only a
// card can say: BenchmarkBNAddReLU (bnex_bench_test.go, run by
// scripts/gpu/check.sh) times both on the same tensors after checking that
// they agree; no card has run it yet.

// bnFused checks the fused op's tensors: x 4-D, the same-shaped ones equal
// to it, the per-channel ones of C elements; nil optional tensors are
// skipped. The kernels take the 4-D tensors in x's layout (others go
// through scratch: relaid).
func bnFused(op string, x *tensor, same []*tensor, perChannel []*tensor) {
	var s []*tensor
	for _, t := range same {
		if t != nil {
			s = append(s, t)
		}
	}
	bnShapes(op, x, s, perChannel)
}

// optPtr is t's device pointer and type code, or 0 (with the flag 0) for a
// nil tensor.
func optPtr(t *tensor) (ptr, code, present uint64) {
	if t == nil {
		return 0, 0, 0
	}
	return t.ptr, t.code(), 1
}

// BatchNormAddReLUForwardTraining: one statistics kernel (dr_bn_stats, a
// block per channel) and one element-wise kernel (dr_bn_add_relu_apply)
// writing y; y may alias x or z (each element is read before it is written).
func (b *Backend) BatchNormAddReLUForwardTraining(y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	const op = "BatchNormAddReLUForwardTraining"
	ty, tx := b.ten(y, op+"'s y"), b.ten(x, op+"'s x")
	var tz *tensor
	if z != nil {
		tz = b.ten(z, op+"'s z")
	}
	tg, tb := b.ten32(gamma, op+"'s gamma"), b.ten32(beta, op+"'s beta")
	rm, rv := b.ten32(runMean, op+"'s runMean"), b.ten32(runVar, op+"'s runVar")
	sm, si := b.ten32(saveMean, op+"'s saveMean"), b.ten32(saveInvStd, op+"'s saveInvStd")
	bnFused(op, tx, []*tensor{ty, tz}, []*tensor{tg, tb, rm, rv, sm, si})
	batch, c, h, w := tx.shape.NCHW()
	inner, n := h*w, tx.len()
	if batch*inner < 2 {
		panic("ops: " + op + ": one value per channel; the batch variance needs two")
	}
	b.run(func() error {
		return b.relaid(tx.layout, 1, false, func(ts []*tensor) error {
			ty, tx, tz := ts[0], ts[1], ts[2]
			zp, zt, hasZ := optPtr(tz)
			if err := b.launchGrid("dr_bn_stats", c, sm.ptr, si.ptr, rm.ptr, rv.ptr, tx.ptr, tx.code(), tx.nhwc(),
				i32(batch), i32(c), i32(inner), math.Float64bits(p.Eps), math.Float64bits(p.Momentum)); err != nil {
				return err
			}
			return b.launch("dr_bn_add_relu_apply", n, ty.ptr, ty.code(), tx.ptr, tx.code(), zp, zt, sm.ptr, si.ptr, tg.ptr, tb.ptr,
				hasZ, tx.nhwc(), i32(c), i32(inner), i32(n))
		}, ty, tx, tz)
	})
}

// BatchNormAddReLUBackward: one reduction kernel (dr_bn_add_relu_reduce,
// a block per channel, writing dgamma and dbeta) and one element-wise
// kernel (dr_bn_add_relu_backward) writing dx and dz.
func (b *Backend) BatchNormAddReLUBackward(dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	const op = "BatchNormAddReLUBackward"
	tdx, tdy, ty, tx := b.ten(dx, op+"'s dx"), b.ten(dy, op+"'s dy"), b.ten(y, op+"'s y"), b.ten(x, op+"'s x")
	var tdz *tensor
	if dz != nil {
		tdz = b.ten(dz, op+"'s dz")
	}
	dg, db, tg := b.ten32(dgamma, op+"'s dgamma"), b.ten32(dbeta, op+"'s dbeta"), b.ten32(gamma, op+"'s gamma")
	sm, si := b.ten32(saveMean, op+"'s saveMean"), b.ten32(saveInvStd, op+"'s saveInvStd")
	bnFused(op, tx, []*tensor{tdx, tdy, ty, tdz}, []*tensor{dg, db, tg, sm, si})
	batch, c, h, w := tx.shape.NCHW()
	inner, n := h*w, tx.len()
	b.run(func() error {
		return b.relaid(tx.layout, 2, add, func(ts []*tensor) error {
			tdx, tdz, tdy, ty, tx := ts[0], ts[1], ts[2], ts[3], ts[4]
			dzp, dzt, hasDz := optPtr(tdz)
			if err := b.launchGrid("dr_bn_add_relu_reduce", c, dg.ptr, db.ptr, tdy.ptr, tdy.code(), ty.ptr, ty.code(),
				tx.ptr, tx.code(), sm.ptr, si.ptr,
				tx.nhwc(), i32(batch), i32(c), i32(inner)); err != nil {
				return err
			}
			return b.launch("dr_bn_add_relu_backward", n, tdx.ptr, tdx.code(), dzp, dzt, tdy.ptr, tdy.code(), ty.ptr, ty.code(),
				tx.ptr, tx.code(), tg.ptr, sm.ptr, si.ptr,
				dg.ptr, db.ptr, flag(add), hasDz, tx.nhwc(), i32(c), i32(inner), i32(n), f32(float32(batch*inner)))
		}, tdx, tdz, tdy, ty, tx)
	})
}
