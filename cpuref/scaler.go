package cpuref

import (
	"fmt"
	"math"

	"github.com/deepres/deepres/ops"
)

var _ ops.LossScaler = (*Backend)(nil)

// scalar returns the one element of t, or panics naming op.
func (b *Backend) scalar(op, name string, t ops.Tensor) *tensor {
	ct := b.get(op, t)
	if len(ct.data) != 1 {
		panic(fmt.Sprintf("ops: %s: %s has shape %v, want one element", op, name, ct.shape))
	}
	return ct
}

// ScaleBy: x *= s[0].
func (b *Backend) ScaleBy(x, s ops.Tensor) {
	if b.viaNCHW("ScaleBy", 1, readWrite, func(t []ops.Tensor) { b.ScaleBy(t[0], t[1]) }, x, s) {
		return
	}
	xt, st := b.get("ScaleBy", x), b.scalar("ScaleBy", "s", s)
	defer b.store(xt)
	f := st.data[0]
	for i := range xt.data {
		xt.data[i] *= f
	}
}

// UnscaleCheck: g *= 1/scale[0]; found[0] = 1 if g holds an inf or NaN.
func (b *Backend) UnscaleCheck(g, found, scale ops.Tensor) {
	if b.viaNCHW("UnscaleCheck", 2, readWrite, func(t []ops.Tensor) { b.UnscaleCheck(t[0], t[1], t[2]) }, g, found, scale) {
		return
	}
	const op = "UnscaleCheck"
	gt, ft, st := b.get(op, g), b.scalar(op, "found", found), b.scalar(op, "scale", scale)
	defer b.store(gt)
	inv := 1 / st.data[0]
	bad := false
	for i, v := range gt.data {
		v *= inv
		gt.data[i] = v
		bad = bad || math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)
	}
	if bad {
		ft.data[0] = 1
	}
}

// SGDUpdateUnlessFound: SGDUpdate unless found[0] != 0.
func (b *Backend) SGDUpdateUnlessFound(w, dw, v, found ops.Tensor, p ops.SGDParams) {
	if b.scalar("SGDUpdateUnlessFound", "found", found).data[0] != 0 {
		sameShape("SGDUpdateUnlessFound", b.get("SGDUpdateUnlessFound", w), b.get("SGDUpdateUnlessFound", dw), b.get("SGDUpdateUnlessFound", v))
		return
	}
	b.SGDUpdate(w, dw, v, p)
}

// UpdateScale is _amp_update_scale_ (ops.LossScaler).
func (b *Backend) UpdateScale(scale, tracker, found ops.Tensor, p ops.GradScalerParams) {
	const op = "UpdateScale"
	st, tt, ft := b.scalar(op, "scale", scale), b.scalar(op, "tracker", tracker), b.scalar(op, "found", found)
	if ft.data[0] != 0 {
		st.data[0] *= p.BackoffFactor
		tt.data[0] = 0
		return
	}
	n := tt.data[0] + 1
	if int(n) == p.GrowthInterval {
		if s := st.data[0] * p.GrowthFactor; !math.IsInf(float64(s), 0) && !math.IsNaN(float64(s)) {
			st.data[0] = s
		}
		n = 0
	}
	tt.data[0] = n
}
