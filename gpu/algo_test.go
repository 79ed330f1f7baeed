package gpu

import (
	"testing"

	"github.com/deepres/deepres/ops"
)

// On a GPU or the simulator (whose Find ranks FFT and WINOGRAD_NONFUSED
// among the fastest): every algorithm strict FP32 chose is one it admits.
// The rule itself is tested without a device in cudnn (choose_test.go).
func TestFP32ChoosesNoTransformAlgorithm(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	for _, s := range []struct {
		x, w ops.Shape
		p    ops.ConvParams
	}{
		{ops.Shape{4, 16, 32, 32}, ops.Shape{16, 16, 3, 3}, ops.Conv(1, 1)},
		{ops.Shape{4, 16, 16, 16}, ops.Shape{32, 16, 3, 3}, ops.Conv(2, 1)},
		{ops.Shape{2, 8, 8, 8}, ops.Shape{8, 8, 1, 1}, ops.Conv(1, 0)},
	} {
		y := s.p.OutputShape(s.x, s.w)
		x, w, dy, dx, dw := mustAlloc(t, b, s.x), mustAlloc(t, b, s.w), mustAlloc(t, b, y), mustAlloc(t, b, s.x), mustAlloc(t, b, s.w)
		out := mustAlloc(t, b, y)
		for _, v := range []ops.Tensor{x, w, dy} {
			b.Fill(v, 0.5)
		}
		b.ConvForward(out, x, w, s.p)
		b.ConvBackwardData(dx, dy, w, s.p, false)
		b.ConvBackwardFilter(dw, dy, x, s.p)
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	var cs []string
	b.mu.Lock()
	b.call(func() {
		for _, c := range b.dnn.Choices() {
			cs = append(cs, c.Pass)
			if !c.FP32Admits() {
				t.Errorf("FP32 chose %s algorithm %d (FMA %v)", c.Pass, c.Algo, c.FMA)
			}
		}
	})
	b.mu.Unlock()
	if len(cs) != 9 {
		t.Errorf("%d algorithm choices, want 9 (3 geometries × 3 passes)", len(cs))
	}
}

func mustAlloc(t *testing.T, b *Backend, s ops.Shape) ops.Tensor {
	t.Helper()
	x, err := b.Alloc(s...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
