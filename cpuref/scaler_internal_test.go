package cpuref

import (
	"math"
	"testing"

	"github.com/deepres/deepres/ops"
)

// TestUpdateScale: GradScaler's rule, on the device scalars. The scale
// grows x2 exactly at the 2000th consecutive clean step (not the 1999th),
// an overflow halves it and restarts the count, and a growth that would
// overflow float32 is not taken.
func TestUpdateScale(t *testing.T) {
	b := New(1)
	scale, tracker, found := tensorOf(t, b, []float32{1 << 16}, 1), tensorOf(t, b, []float32{0}, 1), tensorOf(t, b, []float32{0}, 1)
	p := ops.DefaultGradScaler
	steps := func(n int, f float32) {
		b.Fill(found, f)
		for range n {
			b.UpdateScale(scale, tracker, found, p)
		}
	}
	get := func(x ops.Tensor) float32 { return b.Data(x)[0] }
	steps(1999, 0)
	if get(scale) != 1<<16 || get(tracker) != 1999 {
		t.Fatalf("after 1999 clean steps: scale %g tracker %g, want 2^16 and 1999", get(scale), get(tracker))
	}
	steps(1, 0)
	if get(scale) != 1<<17 || get(tracker) != 0 {
		t.Fatalf("after 2000 clean steps: scale %g tracker %g, want 2^17 and 0", get(scale), get(tracker))
	}
	steps(1000, 0)
	steps(1, 1)
	if get(scale) != 1<<16 || get(tracker) != 0 {
		t.Fatalf("after an overflow: scale %g tracker %g, want 2^16 and 0", get(scale), get(tracker))
	}
	steps(1999, 0)
	if get(scale) != 1<<16 {
		t.Fatalf("the skipped step counted toward growth: scale %g after 1999 clean steps since", get(scale))
	}
	b.Fill(scale, math.MaxFloat32)
	b.Fill(tracker, 1999)
	steps(1, 0)
	if get(scale) != math.MaxFloat32 || get(tracker) != 0 {
		t.Errorf("an infinite growth was taken: scale %g tracker %g", get(scale), get(tracker))
	}
}

// TestUnscaleCheckAndSkip: unscaling divides by the scale and flags an
// inf or NaN (and only then; a flag already set stays set), and
// SGDUpdateUnlessFound leaves weights and momentum alone when flagged and
// is SGDUpdate otherwise.
func TestUnscaleCheckAndSkip(t *testing.T) {
	b := New(1)
	scale, found := tensorOf(t, b, []float32{1 << 16}, 1), tensorOf(t, b, []float32{0}, 1)
	g := tensorOf(t, b, []float32{3 << 16, -(1 << 15), 0}, 3)
	b.UnscaleCheck(g, found, scale)
	if d := b.Data(g); d[0] != 3 || d[1] != -0.5 || d[2] != 0 || b.Data(found)[0] != 0 {
		t.Fatalf("unscaled %v, found %v; want [3 -0.5 0], 0", d, b.Data(found))
	}
	for _, bad := range []float32{float32(math.Inf(-1)), float32(math.NaN())} {
		b.Fill(found, 0)
		b.UnscaleCheck(tensorOf(t, b, []float32{1, bad}, 2), found, scale)
		if b.Data(found)[0] != 1 {
			t.Errorf("UnscaleCheck missed %v", bad)
		}
		b.UnscaleCheck(tensorOf(t, b, []float32{1, 2}, 2), found, scale)
		if b.Data(found)[0] != 1 {
			t.Error("a clean call cleared found")
		}
	}
	p := ops.SGDParams{LR: 0.1, Momentum: 0.9}
	w, v, dw := tensorOf(t, b, []float32{1, 2}, 2), tensorOf(t, b, []float32{0.5, 0.5}, 2), tensorOf(t, b, []float32{float32(math.Inf(1)), 1}, 2)
	b.Fill(found, 1)
	b.SGDUpdateUnlessFound(w, dw, v, found, p)
	if d, m := b.Data(w), b.Data(v); d[0] != 1 || d[1] != 2 || m[0] != 0.5 || m[1] != 0.5 {
		t.Errorf("a flagged step moved w %v v %v", d, m)
	}
	b.Fill(found, 0)
	b.CopyIn(dw, []float32{1, 1})
	w2, v2 := tensorOf(t, b, []float32{1, 2}, 2), tensorOf(t, b, []float32{0.5, 0.5}, 2)
	b.SGDUpdateUnlessFound(w, dw, v, found, p)
	b.SGDUpdate(w2, dw, v2, p)
	if d, e := b.Data(w), b.Data(w2); d[0] != e[0] || d[1] != e[1] {
		t.Errorf("a clean step gave %v, SGDUpdate %v", d, e)
	}
}
