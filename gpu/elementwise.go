package gpu

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// AddTensor: y = alpha·x + beta·y (kernel dr_add_tensor); y may alias x.
func (b *Backend) AddTensor(y, x ops.Tensor, alpha, beta float32) {
	ty, tx := b.ten(y, "AddTensor's y"), b.ten(x, "AddTensor's x")
	sameLen("AddTensor", ty, tx)
	n := ty.len()
	b.run(func() error {
		return b.elementWise(1, beta != 0, func(ts []*tensor) error {
			ty, tx := ts[0], ts[1]
			return b.launch("dr_add_tensor", n, ty.ptr, ty.code(), tx.ptr, tx.code(), f32(alpha), f32(beta), i32(n))
		}, ty, tx)
	})
}

// Mul: y = a⊙b + beta·y (kernel dr_mul); y may alias a or b.
func (b *Backend) Mul(y, a, c ops.Tensor, beta float32) {
	ty, ta, tc := b.ten(y, "Mul's y"), b.ten(a, "Mul's a"), b.ten(c, "Mul's b")
	sameLen("Mul", ty, ta, tc)
	n := ty.len()
	b.run(func() error {
		return b.elementWise(1, beta != 0, func(ts []*tensor) error {
			ty, ta, tc := ts[0], ts[1], ts[2]
			return b.launch("dr_mul", n, ty.ptr, ty.code(), ta.ptr, ta.code(), tc.ptr, tc.code(), f32(beta), i32(n))
		}, ty, ta, tc)
	})
}

// DropoutMask: mask = keep/(1−p), drawn exactly as ops.DropoutKeep, element
// i of the logical order whatever the mask's layout (as cpuref draws it).
func (b *Backend) DropoutMask(mask ops.Tensor, p float32, seed uint64) {
	tm := b.ten(mask, "DropoutMask's mask")
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("ops: DropoutMask: p = %v outside [0, 1]", p))
	}
	n := tm.len()
	// float32 arithmetic on the host, as cpuref does; p = 1 gives +Inf,
	// which the kernel never writes since no uniform in [0, 1) reaches 1.
	scale := 1 / (1 - p)
	l, c, hw := geometry(tm)
	b.run(func() error {
		return b.launch("dr_dropout_mask", n, tm.ptr, tm.code(), f32(p), f32(scale), seed, l, c, hw, i32(n))
	})
}

// DropoutMaskFrom: DropoutMask with seed + the seed base holds
// (ops.SeedWords), read by the kernel (dr_dropout_mask_from).
func (b *Backend) DropoutMaskFrom(mask ops.Tensor, p float32, seed uint64, base ops.Tensor) {
	tm, tb := b.ten(mask, "DropoutMaskFrom's mask"), b.ten32(base, "DropoutMaskFrom's base")
	if tb.len() != 2 {
		panic("ops: DropoutMaskFrom's base must have 2 elements (ops.SeedWords)")
	}
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("ops: DropoutMaskFrom: p = %v outside [0, 1]", p))
	}
	n := tm.len()
	scale := 1 / (1 - p)
	l, c, hw := geometry(tm)
	b.run(func() error {
		return b.launch("dr_dropout_mask_from", n, tm.ptr, tm.code(), f32(p), f32(scale), seed, tb.ptr, l, c, hw, i32(n))
	})
}

// AddBias: y (N,C,…) += b (C) broadcast (kernel dr_add_bias).
func (b *Backend) AddBias(y, bias ops.Tensor) {
	ty, tb := b.ten(y, "AddBias's y"), b.ten(bias, "AddBias's b")
	c, inner := channels("AddBias", ty.shape, tb)
	n := ty.len()
	b.run(func() error {
		return b.launch("dr_add_bias", n, ty.ptr, ty.code(), tb.ptr, tb.code(), ty.nhwc(), i32(c), i32(inner), i32(n))
	})
}

// BiasBackward: db (C) = Σ over N,H,W of dy; written (kernel dr_bias_backward,
// one block per channel).
func (b *Backend) BiasBackward(db, dy ops.Tensor) {
	tdb, tdy := b.ten(db, "BiasBackward's db"), b.ten(dy, "BiasBackward's dy")
	c, inner := channels("BiasBackward", tdy.shape, tdb)
	batch := tdy.shape[0]
	b.run(func() error {
		return b.launchGrid("dr_bias_backward", c, tdb.ptr, tdb.code(), tdy.ptr, tdy.code(), tdy.nhwc(), i32(batch), i32(c), i32(inner))
	})
}

// channels checks a (N,C) or (N,C,H,W) shape against a bias of C elements
// and returns C and the number of elements per (n, c).
func channels(op string, s ops.Shape, bias *tensor) (c, inner int) {
	if len(s) != 2 && len(s) != 4 {
		panic(fmt.Sprintf("ops: %s: shape %v is neither (N,C) nor (N,C,H,W)", op, s))
	}
	c, inner = s[1], 1
	if len(s) == 4 {
		inner = s[2] * s[3]
	}
	if bias.len() != c {
		panic(fmt.Sprintf("ops: %s: bias %v for %d channels", op, bias.shape, c))
	}
	return c, inner
}

// ShortcutAForward: y (N,K,Ho,Wo) takes x (N,C,H,W)[:, :, ::sh, ::sw], zero
// in new channels; the strides are ops.ShortcutAStrides's.
func (b *Backend) ShortcutAForward(y, x ops.Tensor) {
	ty, tx := b.ten(y, "ShortcutAForward's y"), b.ten(x, "ShortcutAForward's x")
	a := shortcutArgs("ShortcutAForward", tx.shape, ty.shape)
	n := ty.len()
	b.run(func() error {
		return b.relaid(tx.layout, 1, false, func(ts []*tensor) error {
			ty, tx := ts[0], ts[1]
			return b.launch("dr_shortcut_a_forward", n, append([]uint64{ty.ptr, ty.code(), tx.ptr, tx.code(), tx.nhwc()}, append(a, i32(n))...)...)
		}, ty, tx)
	})
}

// ShortcutABackward: dx (add?+=:=) the gradient of ShortcutAForward.
func (b *Backend) ShortcutABackward(dx, dy ops.Tensor, add bool) {
	tdx, tdy := b.ten(dx, "ShortcutABackward's dx"), b.ten(dy, "ShortcutABackward's dy")
	a := shortcutArgs("ShortcutABackward", tdx.shape, tdy.shape)
	n := tdx.len()
	b.run(func() error {
		return b.relaid(tdx.layout, 1, add, func(ts []*tensor) error {
			tdx, tdy := ts[0], ts[1]
			return b.launch("dr_shortcut_a_backward", n, append([]uint64{tdx.ptr, tdx.code(), tdy.ptr, tdy.code(), tdx.nhwc()}, append(a, flag(add), i32(n))...)...)
		}, tdx, tdy)
	})
}

// shortcutArgs checks the shapes by the contract's own rule
// (ops.ShortcutAStrides: ceil(H/Ho), so 7 → 4 is valid) and returns c, h,
// w, k, ho, wo, sh, sw as kernel arguments.
func shortcutArgs(op string, xs, ys ops.Shape) []uint64 {
	_, c, h, w := xs.NCHW()
	_, k, ho, wo := ys.NCHW()
	sh, sw, ok := ops.ShortcutAStrides(xs, ys)
	if !ok {
		panic(fmt.Sprintf("ops: %s: shapes %v and %v do not fit an option-A shortcut", op, xs, ys))
	}
	return []uint64{i32(c), i32(h), i32(w), i32(k), i32(ho), i32(wo), i32(sh), i32(sw)}
}

// GlobalAvgPoolForward: y (N,C) = the mean of x over H and W.
func (b *Backend) GlobalAvgPoolForward(y, x ops.Tensor) {
	ty, tx := b.ten(y, "GlobalAvgPoolForward's y"), b.ten(x, "GlobalAvgPoolForward's x")
	hw := poolArgs("GlobalAvgPoolForward", tx.shape, ty.shape)
	planes := ty.len()
	c := tx.shape[1]
	b.run(func() error {
		return b.launch("dr_gap_forward", planes, ty.ptr, ty.code(), tx.ptr, tx.code(), tx.nhwc(), i32(c), i32(hw), i32(planes))
	})
}

// GlobalAvgPoolBackward: dx (add?+=:=) dy/(H·W).
func (b *Backend) GlobalAvgPoolBackward(dx, dy ops.Tensor, add bool) {
	tdx, tdy := b.ten(dx, "GlobalAvgPoolBackward's dx"), b.ten(dy, "GlobalAvgPoolBackward's dy")
	hw := poolArgs("GlobalAvgPoolBackward", tdx.shape, tdy.shape)
	n := tdx.len()
	c := tdx.shape[1]
	b.run(func() error {
		return b.launch("dr_gap_backward", n, tdx.ptr, tdx.code(), tdy.ptr, tdy.code(), tdx.nhwc(), i32(c), i32(hw), flag(add), i32(n))
	})
}

func poolArgs(op string, xs, ys ops.Shape) int {
	n, c, h, w := xs.NCHW()
	if len(ys) != 2 || ys[0] != n || ys[1] != c {
		panic(fmt.Sprintf("ops: %s: pooled shape %v for input %v", op, ys, xs))
	}
	return h * w
}
