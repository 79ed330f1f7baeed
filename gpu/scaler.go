package gpu

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// float16 loss scaling (ops.LossScaler) by deepres's kernels
// (kernels/scaler.cu and the found flag of kernels/sgd.cu): every decision
// is read from device memory when the kernel runs, so the ops queue no host
// work, never synchronise, and a captured step holds them as kernel nodes.
var _ ops.LossScaler = (*Backend)(nil)

// scalar is ten32 for a one-element tensor of op.
func (b *Backend) scalar(op, name string, x ops.Tensor) *tensor {
	t := b.ten32(x, op+"'s "+name)
	if t.len() != 1 {
		panic(fmt.Sprintf("ops: %s: %s has shape %v, want one element", op, name, t.shape))
	}
	return t
}

// ScaleBy: x *= s[0] (kernel dr_scale_by); x of any storage type.
func (b *Backend) ScaleBy(x, s ops.Tensor) {
	tx, ts := b.ten(x, "ScaleBy's x"), b.scalar("ScaleBy", "s", s)
	n := tx.len()
	b.run(func() error { return b.launch("dr_scale_by", n, tx.ptr, tx.code(), ts.ptr, i32(n)) })
}

// UnscaleCheck: g *= 1/scale[0], found[0] = 1 where g holds an inf or NaN
// (kernel dr_unscale_check).
func (b *Backend) UnscaleCheck(g, found, scale ops.Tensor) {
	const op = "UnscaleCheck"
	tg, tf, ts := b.ten(g, op+"'s g"), b.scalar(op, "found", found), b.scalar(op, "scale", scale)
	n := tg.len()
	b.run(func() error { return b.launch("dr_unscale_check", n, tg.ptr, tg.code(), tf.ptr, ts.ptr, i32(n)) })
}

// SGDUpdateUnlessFound: SGDUpdate's kernel, which returns at once when
// found[0] != 0.
func (b *Backend) SGDUpdateUnlessFound(w, dw, v, found ops.Tensor, p ops.SGDParams) {
	const op = "SGDUpdateUnlessFound"
	b.sgd(op, w, dw, v, b.scalar(op, "found", found), p)
}

// UpdateScale: GradScaler's update by one device thread (kernel
// dr_update_scale).
func (b *Backend) UpdateScale(scale, tracker, found ops.Tensor, p ops.GradScalerParams) {
	const op = "UpdateScale"
	ts, tt, tf := b.scalar(op, "scale", scale), b.scalar(op, "tracker", tracker), b.scalar(op, "found", found)
	if p.GrowthInterval < 1 {
		panic(fmt.Sprintf("ops: UpdateScale: growth interval %d", p.GrowthInterval))
	}
	b.run(func() error {
		return b.launchGrid("dr_update_scale", 1, ts.ptr, tt.ptr, tf.ptr, f32(p.BackoffFactor), f32(p.GrowthFactor),
			i32(p.GrowthInterval))
	})
}
