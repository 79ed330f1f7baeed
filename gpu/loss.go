package gpu

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// SoftmaxCrossEntropy (kernel dr_softmax_xent, one thread per sample); every
// tensor float32 (plan D1: the logits are LinearForward's float32 output, as
// autocast runs the loss in float32).
// Labels are not range-checked on the device: out-of-range is undefined, as
// ops.Backend allows.
func (b *Backend) SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels ops.Tensor) {
	tl, tls, tc, tlab := b.ten32(logits, "SoftmaxCrossEntropy's logits"), b.ten32(losses, "SoftmaxCrossEntropy's losses"),
		b.ten32(correct, "SoftmaxCrossEntropy's correct"), b.ten32(labels, "SoftmaxCrossEntropy's labels")
	n, k := matrix("SoftmaxCrossEntropy", "logits", tl)
	for _, t := range []*tensor{tls, tc, tlab} {
		if t.len() != n {
			panic(fmt.Sprintf("ops: SoftmaxCrossEntropy: %v for %d samples", t.shape, n))
		}
	}
	var dptr uint64
	if dlogits != nil {
		td := b.ten32(dlogits, "SoftmaxCrossEntropy's dlogits")
		sameShape("SoftmaxCrossEntropy", tl, td)
		dptr = td.ptr
	}
	b.run(func() error {
		return b.launch("dr_softmax_xent", n, dptr, tls.ptr, tc.ptr, tl.ptr, tlab.ptr, i32(k), f32(1/float32(n)), i32(n))
	})
}

// Reduce: dst (one element) = the sum r of x, accumulated in double by one
// block; x and dst of any storage type.
func (b *Backend) Reduce(dst, x ops.Tensor, r ops.Reduction) {
	td, tx := b.ten(dst, "Reduce's dst"), b.ten(x, "Reduce's x")
	if td.len() != 1 {
		panic(fmt.Sprintf("ops: Reduce: dst %v is not one element", td.shape))
	}
	if r < ops.ReduceSum || r > ops.ReduceSumAbs {
		panic(fmt.Sprintf("ops: Reduce: unknown reduction %v", r))
	}
	n := tx.len()
	b.run(func() error {
		return b.launchGrid("dr_reduce", 1, td.ptr, td.code(), tx.ptr, tx.code(), i32(int(r)), i32(n))
	})
}

// SGDUpdate: one step of ops.SGDParams' rule on w and v in place (kernel
// dr_sgd_update, or dr_sgd_update_lr reading the rate from p.LRTensor).
func (b *Backend) SGDUpdate(w, dw, v ops.Tensor, p ops.SGDParams) {
	b.sgd("SGDUpdate", w, dw, v, nil, p)
}

// sgd queues SGDUpdate, skipped on the device when found (one float32
// element, or nil for never) holds a non-zero value.
func (b *Backend) sgd(op string, w, dw, v ops.Tensor, found *tensor, p ops.SGDParams) {
	tw, tdw, tv := b.ten32(w, op+"'s w"), b.ten32(dw, op+"'s dw"), b.ten32(v, op+"'s v")
	sameShape(op, tw, tdw, tv)
	n := tw.len()
	var fp uint64
	if found != nil {
		fp = found.ptr
	}
	if p.LRTensor != nil {
		lr := b.ten32(p.LRTensor, op+"'s LRTensor")
		if lr.len() != 1 {
			panic("ops: " + op + "'s LRTensor must have one element")
		}
		b.run(func() error {
			return b.elementWise(2, true, func(ts []*tensor) error {
				tw, tv, tdw := ts[0], ts[1], ts[2]
				return b.launch("dr_sgd_update_lr", n, tw.ptr, tdw.ptr, tv.ptr, fp, lr.ptr, f32(p.Momentum), f32(p.WeightDecay), flag(p.Nesterov), i32(n))
			}, tw, tv, tdw)
		})
		return
	}
	b.run(func() error {
		return b.elementWise(2, true, func(ts []*tensor) error {
			tw, tv, tdw := ts[0], ts[1], ts[2]
			return b.launch("dr_sgd_update", n, tw.ptr, tdw.ptr, tv.ptr, fp, f32(p.LR), f32(p.Momentum), f32(p.WeightDecay), flag(p.Nesterov), i32(n))
		}, tw, tv, tdw)
	})
}
