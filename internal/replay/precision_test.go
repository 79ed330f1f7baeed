package replay

import (
	"math"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
)

// scalerState is one run of float16 loss scaling's step: weights, momentum
// and the scaler's three device scalars.
type scalerState struct {
	b                                  ops.Backend
	w, g, v, dl, scale, tracker, found ops.Tensor
}

func newScalerState(t *testing.T, b ops.Backend) *scalerState {
	t.Helper()
	s := &scalerState{b: b}
	for _, p := range []*ops.Tensor{&s.w, &s.g, &s.v} {
		x, err := b.Alloc(6)
		if err != nil {
			t.Fatal(err)
		}
		*p = x
	}
	for _, p := range []*ops.Tensor{&s.scale, &s.tracker, &s.found} {
		x, err := b.Alloc(1)
		if err != nil {
			t.Fatal(err)
		}
		*p = x
	}
	dl, err := ops.AllocAs(b, ops.Float16, 6)
	if err != nil {
		t.Fatal(err)
	}
	s.dl = dl
	b.CopyIn(s.w, []float32{1, -2, 3, -4, 5, -6})
	b.Fill(s.scale, ops.DefaultGradScaler.InitScale)
	return s
}

// step is one training step's loss-scaling ops: the "gradient" is the
// scaled dl (a float16 tensor), copied into the float32 gradient.
func (s *scalerState) step() {
	b, ls := s.b, s.b.(ops.LossScaler)
	b.Fill(s.found, 0)
	ls.ScaleBy(s.dl, s.scale)
	b.Copy(s.g, s.dl)
	ls.UnscaleCheck(s.g, s.found, s.scale)
	ls.SGDUpdateUnlessFound(s.w, s.g, s.v, s.found, ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4})
	ls.UpdateScale(s.scale, s.tracker, s.found, ops.DefaultGradScaler)
}

func host(t *testing.T, b ops.Backend, x ops.Tensor) []float32 {
	t.Helper()
	h := make([]float32, x.Shape().Len())
	if err := b.CopyOut(h, x); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestLossScalingCapturedIsEager: three steps of float16 loss scaling, the
// second with a gradient that overflows float16 once scaled by 2^16 (an
// injected overflow: 2 · 2^16 > 65504), run eagerly and as one captured
// step launched three times. The overflow step is skipped (weights and
// momentum unchanged), the scale halves, and both runs end bitwise equal.
func TestLossScalingCapturedIsEager(t *testing.T) {
	grads := [][]float32{
		{0.001, -0.002, 0.003, 0, 0.0005, -0.001},
		{0.001, 2, 0.003, 0, 0.0005, -0.001}, // 2·2^16 is inf in float16
		{0.002, -0.001, 0.001, 0.004, 0, 0.001},
	}
	eager := newScalerState(t, cpuref.New(1))
	r := New(cpuref.New(1))
	capt := newScalerState(t, r)
	if err := r.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	capt.step()
	g, err := r.EndCapture()
	if err != nil {
		t.Fatal(err)
	}
	for i, gr := range grads {
		before := host(t, eager.b, eager.w)
		vBefore := host(t, eager.b, eager.v)
		eager.b.CopyIn(eager.dl, gr)
		eager.step()
		capt.b.CopyIn(capt.dl, gr)
		g.Launch()
		found := host(t, eager.b, eager.found)[0]
		if (i == 1) != (found != 0) {
			t.Errorf("step %d: found = %v", i, found)
		}
		if i == 1 {
			w, v := host(t, eager.b, eager.w), host(t, eager.b, eager.v)
			for j := range w {
				if math.Float32bits(w[j]) != math.Float32bits(before[j]) || math.Float32bits(v[j]) != math.Float32bits(vBefore[j]) {
					t.Fatalf("the overflow step moved w[%d] %g -> %g or v[%d] %g -> %g", j, before[j], w[j], j, vBefore[j], v[j])
				}
			}
			if s := host(t, eager.b, eager.scale)[0]; s != 1<<15 {
				t.Errorf("scale after the overflow: %g, want 2^15", s)
			}
		}
		for _, pair := range [][2]ops.Tensor{{eager.w, capt.w}, {eager.v, capt.v}, {eager.scale, capt.scale}, {eager.tracker, capt.tracker}} {
			a, c := host(t, eager.b, pair[0]), host(t, capt.b, pair[1])
			for j := range a {
				if math.Float32bits(a[j]) != math.Float32bits(c[j]) {
					t.Fatalf("step %d: eager %v, captured %v", i, a, c)
				}
			}
		}
	}
	if tr := host(t, eager.b, eager.tracker)[0]; tr != 1 {
		t.Errorf("tracker after clean, overflow, clean: %g, want 1", tr)
	}
}
