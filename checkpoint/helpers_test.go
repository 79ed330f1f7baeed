package checkpoint

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// randDense returns a float32 tensor of the given shape filled from rng.
func randDense(rng *rand.Rand, shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// values returns d's elements row-major, scalars included.
func values(t *testing.T, d *tensor.Dense) []float32 {
	t.Helper()
	if d.IsScalar() {
		return []float32{d.ScalarValue().(float32)}
	}
	if d.IsMaterializable() {
		d = d.Materialize().(*tensor.Dense)
	}
	return d.Data().([]float32)[:d.Shape().TotalSize()]
}

// sameBits reports the first index where a and b differ bit for bit (NaN payloads
// and the sign of zero count), or -1.
func sameBits(a, b []float32) int {
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// equalFiles fails t unless want and got hold the same names, shapes, bits and metadata.
func equalFiles(t *testing.T, want map[string]*tensor.Dense, wantMeta map[string]string, got *File) {
	t.Helper()
	if len(got.Tensors) != len(want) {
		t.Fatalf("read %d tensors %v, wrote %d", len(got.Tensors), got.Names(), len(want))
	}
	for name, w := range want {
		g, ok := got.Tensors[name]
		if !ok {
			t.Fatalf("tensor %q missing after round trip; have %v", name, got.Names())
		}
		if !g.Shape().Eq(w.Shape()) {
			t.Errorf("tensor %q: shape %v, want %v", name, g.Shape(), w.Shape())
			continue
		}
		if i := sameBits(values(t, w), values(t, g)); i >= 0 {
			t.Errorf("tensor %q: element %d differs", name, i)
		}
	}
	if len(got.Meta) != len(wantMeta) {
		t.Errorf("metadata %v, want %v", got.Meta, wantMeta)
	}
	for k, v := range wantMeta {
		if got.Meta[k] != v {
			t.Errorf("metadata %q = %q, want %q", k, got.Meta[k], v)
		}
	}
}
