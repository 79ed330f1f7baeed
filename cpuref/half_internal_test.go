package cpuref

import (
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/ops"
)

// TestHalfStoreRounds: an op writing a half tensor stores exactly the
// float32 result rounded to that type (the emulation of half storage),
// with float32 inputs and weights; views keep their tensor's type;
// CopyIn and Fill round too; ElemBytes says 2.
func TestHalfStoreRounds(t *testing.T) {
	b := New(1)
	r := rand.New(rand.NewPCG(3, 4))
	xs := make([]float32, 2*3*5*5)
	for i := range xs {
		xs[i] = r.Float32()*2 - 1
	}
	ws := make([]float32, 4*3*3*3)
	for i := range ws {
		ws[i] = r.Float32()*2 - 1
	}
	x, w := tensorOf(t, b, xs, 2, 3, 5, 5), tensorOf(t, b, ws, 4, 3, 3, 3)
	y32, _ := b.Alloc(2, 4, 5, 5)
	p := ops.Conv(1, 1)
	b.ConvForward(y32, x, w, p)
	for _, d := range []ops.DType{ops.BFloat16, ops.Float16} {
		y, err := b.AllocAs(d, 2, 4, 5, 5)
		if err != nil {
			t.Fatal(err)
		}
		if got := ops.ElemBytes(y); got != 2 {
			t.Errorf("%v: ElemBytes = %d, want 2", d, got)
		}
		v := b.View(y, 0, 100)
		if ops.DTypeOf(v) != d {
			t.Errorf("%v: a view has type %v", d, ops.DTypeOf(v))
		}
		b.ConvForward(y, x, w, p)
		want := append([]float32(nil), b.Data(y32)...)
		ops.RoundSlice(d, want)
		inexact := 0
		for i, g := range b.Data(y) {
			if g != want[i] {
				t.Fatalf("%v: y[%d] = %g, want %g (the float32 result %g rounded)", d, i, g, want[i], b.Data(y32)[i])
			}
			if g != b.Data(y32)[i] {
				inexact++
			}
		}
		if inexact == 0 {
			t.Errorf("%v: no element was rounded: the output is not stored as %v", d, d)
		}
		b.CopyIn(v, make([]float32, 100))
		b.Fill(v, 1+1.0/(1<<12)) // exact in float32, not in either half type
		if got := b.Data(v)[0]; got != 1 {
			t.Errorf("%v: Fill stored %g, want 1", d, got)
		}
		b.CopyIn(v, append(make([]float32, 99), 1+3.0/(1<<12)))
		if got, want := b.Data(v)[99], ops.Round(d, 1+3.0/(1<<12)); got != want {
			t.Errorf("%v: CopyIn stored %g, want %g", d, got, want)
		}
	}
	if !ops.Supports(b, ops.BFloat16) || !ops.Supports(b, ops.Float16) {
		t.Error("cpuref does not report half support")
	}
}
