package gpu

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// bnShapes checks that x is NCHW, y and the per-channel tensors fit it.
func bnShapes(op string, x *tensor, same []*tensor, perChannel []*tensor) {
	_, c, _, _ := x.shape.NCHW()
	sameShape(op, x, same...)
	for _, t := range perChannel {
		if t.len() != c {
			panic(fmt.Sprintf("ops: %s: per-channel tensor %v for %d channels", op, t.shape, c))
		}
	}
}

// bnTypes checks the storage types cuDNN's batch norm takes: the
// activations (x, y, dx, dy) of one type, as its x, y, dx and dy
// descriptors must be, and the per-channel parameters and statistics
// float32, the type of the descriptor cudnnDeriveBNTensorDescriptor gives
// for float, half and bfloat16 x (cudnn.Handle.bn).
func bnTypes(op string, x *tensor, same []*tensor, perChannel []*tensor) {
	for _, t := range same {
		if t.dtype != x.dtype {
			panic(fmt.Sprintf("ops: %s: activations of storage types %v and %v: cuDNN's batch norm takes one", op, x.dtype, t.dtype))
		}
	}
	for _, t := range perChannel {
		if t.dtype != ops.Float32 {
			panic(fmt.Sprintf("ops: %s: a per-channel tensor is %v: batch-norm parameters and statistics are float32", op, t.dtype))
		}
	}
}

// aliasOut returns where an op that may not run in place writes: y itself,
// or a scratch block (and a function copying it to y) when y is x. cuDNN's
// batch norm does not document in-place operation, so we do not rely on it.
func (b *Backend) aliasOut(y, x *tensor) (out uint64, finish func() error, err error) {
	if y.ptr != x.ptr {
		return y.ptr, func() error { return nil }, nil
	}
	// A conversion slot (Backend.slot), held for the backend's life: a
	// captured step must not write into a block handed back to the
	// allocator.
	s, err := b.slot(typeSlots, y.bytes())
	if err != nil {
		return 0, nil, err
	}
	return s, func() error { return b.copyDevice(y.ptr, s, y.bytes()) }, nil
}

// The activations go to cuDNN in x's layout (its one descriptor describes
// x, y, dx and dy); another layout among them, which the contract allows,
// goes through scratch (relaid).

// BatchNormForwardTraining through cuDNN (spatial mode); y may alias x.
func (b *Backend) BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	ty, tx := b.ten(y, "BatchNorm's y"), b.ten(x, "BatchNorm's x")
	tg, tb := b.ten(gamma, "BatchNorm's gamma"), b.ten(beta, "BatchNorm's beta")
	rm, rv := b.ten(runMean, "BatchNorm's runMean"), b.ten(runVar, "BatchNorm's runVar")
	sm, si := b.ten(saveMean, "BatchNorm's saveMean"), b.ten(saveInvStd, "BatchNorm's saveInvStd")
	bnShapes("BatchNormForwardTraining", tx, []*tensor{ty}, []*tensor{tg, tb, rm, rv, sm, si})
	bnTypes("BatchNormForwardTraining", tx, []*tensor{ty}, []*tensor{tg, tb, rm, rv, sm, si})
	b.run(func() error {
		return b.relaid(tx.layout, 1, false, func(ts []*tensor) error {
			ty, tx := ts[0], ts[1]
			out, finish, err := b.aliasOut(ty, tx)
			if err != nil {
				return err
			}
			if err := b.dnn.BatchNormForwardTraining(out, tx.ptr, shape4(tx), tg.ptr, tb.ptr, rm.ptr, rv.ptr, sm.ptr, si.ptr, p.Momentum, p.Eps); err != nil {
				return err
			}
			return finish()
		}, ty, tx)
	})
}

// BatchNormForwardInference through cuDNN; y may alias x.
func (b *Backend) BatchNormForwardInference(y, x, gamma, beta, runMean, runVar ops.Tensor, p ops.BatchNormParams) {
	ty, tx := b.ten(y, "BatchNorm's y"), b.ten(x, "BatchNorm's x")
	tg, tb := b.ten(gamma, "BatchNorm's gamma"), b.ten(beta, "BatchNorm's beta")
	rm, rv := b.ten(runMean, "BatchNorm's runMean"), b.ten(runVar, "BatchNorm's runVar")
	bnShapes("BatchNormForwardInference", tx, []*tensor{ty}, []*tensor{tg, tb, rm, rv})
	bnTypes("BatchNormForwardInference", tx, []*tensor{ty}, []*tensor{tg, tb, rm, rv})
	b.run(func() error {
		return b.relaid(tx.layout, 1, false, func(ts []*tensor) error {
			ty, tx := ts[0], ts[1]
			out, finish, err := b.aliasOut(ty, tx)
			if err != nil {
				return err
			}
			if err := b.dnn.BatchNormForwardInference(out, tx.ptr, shape4(tx), tg.ptr, tb.ptr, rm.ptr, rv.ptr, p.Eps); err != nil {
				return err
			}
			return finish()
		}, ty, tx)
	})
}

// BatchNormBackward through cuDNN: dx (add?+=:=), dgamma and dbeta written.
func (b *Backend) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	tdx, tdy, tx := b.ten(dx, "BatchNormBackward's dx"), b.ten(dy, "BatchNormBackward's dy"), b.ten(x, "BatchNormBackward's x")
	dg, db, tg := b.ten(dgamma, "BatchNormBackward's dgamma"), b.ten(dbeta, "BatchNormBackward's dbeta"), b.ten(gamma, "BatchNormBackward's gamma")
	sm, si := b.ten(saveMean, "BatchNormBackward's saveMean"), b.ten(saveInvStd, "BatchNormBackward's saveInvStd")
	bnShapes("BatchNormBackward", tx, []*tensor{tdx, tdy}, []*tensor{dg, db, tg, sm, si})
	bnTypes("BatchNormBackward", tx, []*tensor{tdx, tdy}, []*tensor{dg, db, tg, sm, si})
	b.run(func() error {
		return b.relaid(tx.layout, 1, add, func(ts []*tensor) error {
			tdx, tdy, tx := ts[0], ts[1], ts[2]
			return b.dnn.BatchNormBackward(tdx.ptr, dg.ptr, db.ptr, tdy.ptr, tx.ptr, shape4(tx), tg.ptr, sm.ptr, si.ptr, p.Eps, add)
		}, tdx, tdy, tx)
	})
}
