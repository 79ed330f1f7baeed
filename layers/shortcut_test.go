package layers

import (
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
)

// Average-pooling option A (Stochastic_Depth ResidualDrop.lua) against hand
// values: a 1×2×4×4 input to 4 channels at stride 2 gives each 2×2 block's
// mean in channels 0 and 1 and zeros in channels 2 and 3; backward spreads
// a quarter of each output gradient over its block and ignores the zero
// channels. Subsampling option A (PadA) on the same input differs.
func TestPoolPadA(t *testing.T) {
	b := cpuref.New(0)
	e := NewEnv(b)
	p := NewPoolPadA(e, 4, 2)
	out := p.Setup(ops.Shape{1, 2, 4, 4})
	if !out.Equal(ops.Shape{1, 4, 2, 2}) {
		t.Fatalf("output shape %v, want [1 4 2 2]", out)
	}
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	in := []float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
		13, 14, 15, 16,

		0, 0, 4, 4,
		0, 8, 4, 4,
		-1, 1, 2, 2,
		1, -1, 2, 6,
	}
	x, _ := b.Alloc(1, 2, 4, 4)
	b.CopyIn(x, in)
	want := []float32{
		3.5, 5.5, 11.5, 13.5, // (1+2+5+6)/4, …
		2, 4, 0, 3,
		0, 0, 0, 0,
		0, 0, 0, 0,
	}
	got := make([]float32, 16)
	if err := b.CopyOut(got, p.Forward(x)); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if diff := got[i] - want[i]; diff > 1e-6 || diff < -1e-6 {
			t.Fatalf("forward %v, want %v", got, want)
		}
	}

	dy, _ := b.Alloc(1, 4, 2, 2)
	b.CopyIn(dy, []float32{4, 8, 12, 16, 1, 2, 3, 4, 100, 100, 100, 100, 100, 100, 100, 100})
	dx, _ := b.Alloc(1, 2, 4, 4)
	p.Backward(dx, dy, false)
	wantDx := []float32{
		1, 1, 2, 2,
		1, 1, 2, 2,
		3, 3, 4, 4,
		3, 3, 4, 4,

		0.25, 0.25, 0.5, 0.5,
		0.25, 0.25, 0.5, 0.5,
		0.75, 0.75, 1, 1,
		0.75, 0.75, 1, 1,
	}
	gotDx := make([]float32, 32)
	if err := b.CopyOut(gotDx, dx); err != nil {
		t.Fatal(err)
	}
	for i := range wantDx {
		if diff := gotDx[i] - wantDx[i]; diff > 1e-6 || diff < -1e-6 {
			t.Fatalf("backward %v, want %v", gotDx, wantDx)
		}
	}

	// Subsampling takes the top-left pixel of each block instead.
	s := NewPadA(e, 4, 2)
	s.Setup(ops.Shape{1, 2, 4, 4})
	if err := b.CopyOut(got, s.Forward(x)); err != nil {
		t.Fatal(err)
	}
	if got[0] != 1 || got[1] != 3 || got[4] != 0 || got[5] != 4 {
		t.Errorf("subsampling option A gave %v, want 1 3 … 0 4 …", got[:8])
	}
}
