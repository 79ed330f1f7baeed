package gpu_test

import (
	"math"
	"testing"

	"github.com/deepres/deepres/ops"
)

// TestFP32LinearIsNotTF32: in FP32 mode the linear layer's GEMM keeps
// float32's mantissa. 1 + 2⁻¹² needs 12 mantissa bits; TensorFloat-32 keeps
// 10 and rounds it to 1, so y = x·1 shows whether cuBLAS's math mode let
// TF32 in (the simulated cuBLAS rounds to TF32 exactly when the handle's
// mode allows it, as cuBLAS documents).
func TestFP32LinearIsNotTF32(t *testing.T) {
	g := openFP32(t)
	alloc := func(shape ...int) ops.Tensor {
		x, err := g.Alloc(shape...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Free(x) })
		return x
	}
	x, w, y := alloc(1, 1), alloc(1, 1), alloc(1, 1)
	in := float32(1 + math.Ldexp(1, -12))
	g.CopyIn(x, []float32{in})
	g.CopyIn(w, []float32{1})
	g.LinearForward(y, x, w)
	got := make([]float32, 1)
	if err := g.CopyOut(got, y); err != nil {
		t.Fatal(err)
	}
	if got[0] != in {
		t.Errorf("FP32 y = x·1 = %.9g, want %.9g (rounded to TF32?)", got[0], in)
	}
}
