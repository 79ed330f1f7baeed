package gpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opstest"
)

var halfTypes = []ops.DType{ops.BFloat16, ops.Float16}

// allocAs is ops.AllocAs that fails t on an error.
func allocAs(t *testing.T, b *Backend, d ops.DType, shape ...int) ops.Tensor {
	t.Helper()
	x, err := ops.AllocAs(b, d, shape...)
	if err != nil {
		t.Fatalf("AllocAs(%v, %v): %v", d, shape, err)
	}
	return x
}

func download(t *testing.T, b *Backend, x ops.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Shape().Len())
	if err := b.CopyOut(out, x); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameBits reports the first index where got and want differ in their bits
// (so NaN payloads and the sign of zero count), or -1.
func sameBits(got, want []float32) int {
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return i
		}
	}
	return -1
}

// conversionInputs are float32 values that exercise every rounding case of
// both half types: for each of the 2^16 top halves, low halves that are
// zero, a bfloat16 tie (0x8000) and its neighbours, a float16 tie in the
// low 13 bits (0x1000) and its neighbours, all-ones, and one random; NaNs,
// infinities, zeros, subnormals and float16's overflow edge 65520 are
// among them.
func conversionInputs() []float32 {
	r := rand.New(rand.NewPCG(22, 1))
	lows := []uint32{0, 1, 0x0FFF, 0x1000, 0x1001, 0x7FFF, 0x8000, 0x8001, 0xFFFF}
	var xs []float32
	for hi := uint32(0); hi < 1<<16; hi++ {
		for _, lo := range lows {
			xs = append(xs, math.Float32frombits(hi<<16|lo))
		}
		xs = append(xs, math.Float32frombits(hi<<16|r.Uint32()&0xFFFF))
	}
	return xs
}

// TestHalfConversionsMatchOps: the device's conversions (common.cuh's
// dr_st and dr_ld through the cast kernel) are bit for bit ops/half.go's,
// which the CPU reference uses: float32 → half on the device equals
// ops.BF16Bits/F16Bits, and half → float32 on the device equals the host's
// widening of the same bits.
func TestHalfConversionsMatchOps(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	xs := conversionInputs()
	f, err := b.Alloc(len(xs))
	if err != nil {
		t.Fatal(err)
	}
	b.CopyIn(f, xs)
	for _, d := range halfTypes {
		h := allocAs(t, b, d, len(xs))
		b.Copy(h, f) // rounded by the device (dr_cast)
		got := download(t, b, h)
		want := make([]float32, len(xs))
		for i, x := range xs {
			want[i] = ops.Round(d, x)
		}
		if i := sameBits(got, want); i >= 0 {
			t.Errorf("%v: device rounds %#08x to %#08x, ops.Round to %#08x", d,
				math.Float32bits(xs[i]), math.Float32bits(got[i]), math.Float32bits(want[i]))
		}
		// Widening on the device: every bit pattern the host put in.
		b.CopyIn(h, xs) // rounded by the host (ops.BF16Bits, ops.F16Bits)
		w, err := b.Alloc(len(xs))
		if err != nil {
			t.Fatal(err)
		}
		b.Copy(w, h) // widened by the device
		if i := sameBits(download(t, b, w), want); i >= 0 {
			t.Errorf("%v: device widens the half of %#08x to %v, want %v", d, math.Float32bits(xs[i]),
				download(t, b, w)[i], want[i])
		}
		b.Free(w)
		b.Free(h)
	}
	b.Free(f)
}

// TestHalfStorage: a half tensor says its type, takes 2 bytes an element
// (a view's offset counts elements of its type), is rounded by CopyIn and
// Fill to its type, and Copy between any two types rounds once; a view of
// an odd offset and length touches none of its neighbours.
func TestHalfStorage(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	for _, d := range halfTypes {
		if !ops.Supports(b, d) {
			t.Fatalf("the GPU backend does not claim %v storage", d)
		}
		x := allocAs(t, b, d, 3, 5)
		if got := ops.DTypeOf(x); got != d {
			t.Errorf("AllocAs(%v) made a %v tensor", d, got)
		}
		if got := x.(*tensor).bytes(); got != 30 {
			t.Errorf("%v (3,5): %d bytes, want 30", d, got)
		}
		for i, v := range download(t, b, x) {
			if math.Float32bits(v) != 0 {
				t.Fatalf("%v: AllocAs left element %d = %v", d, i, v)
			}
		}
		src := make([]float32, 15)
		for i := range src {
			src[i] = 1 + float32(i)/3 // not representable in either type
		}
		b.CopyIn(x, src)
		want := append([]float32(nil), src...)
		ops.RoundSlice(d, want)
		if i := sameBits(download(t, b, x), want); i >= 0 {
			t.Errorf("%v CopyIn: element %d reads %v, want %v", d, i, download(t, b, x)[i], want[i])
		}

		// A view of elements [3, 10): odd offset and length.
		v := b.View(x, 3, 7)
		if ops.DTypeOf(v) != d {
			t.Errorf("a view of a %v tensor is %v", d, ops.DTypeOf(v))
		}
		b.Fill(v, 0.1)
		for i := 3; i < 10; i++ {
			want[i] = ops.Round(d, 0.1)
		}
		if i := sameBits(download(t, b, x), want); i >= 0 {
			t.Errorf("%v Fill of a view: element %d reads %v, want %v", d, i, download(t, b, x)[i], want[i])
		}
		in := []float32{-7.3, 2.2, 1e-6, 3e4, 1e5, -0.0, 5}
		b.CopyIn(v, in)
		for i, u := range in {
			want[3+i] = ops.Round(d, u)
		}
		if i := sameBits(download(t, b, x), want); i >= 0 {
			t.Errorf("%v CopyIn to a view: element %d reads %v, want %v", d, i, download(t, b, x)[i], want[i])
		}
		if i := sameBits(download(t, b, v), want[3:10]); i >= 0 {
			t.Errorf("%v CopyOut of a view: element %d reads wrong", d, i)
		}

		// Copy between every pair of types, through views, rounds once.
		for _, e := range []ops.DType{ops.Float32, ops.BFloat16, ops.Float16} {
			y := allocAs(t, b, e, 9)
			yv := b.View(y, 1, 7)
			b.Copy(yv, v)
			w := make([]float32, 9)
			for i := range 7 {
				w[1+i] = ops.Round(e, want[3+i])
			}
			if i := sameBits(download(t, b, y), w); i >= 0 {
				t.Errorf("Copy %v → %v: element %d reads %v, want %v", d, e, i, download(t, b, y)[i], w[i])
			}
			b.Free(y)
		}
		b.Free(x)
	}
}

// The conformance suite's half passes (issue 22): every op with bfloat16
// or float16 activations against cpuref, tolerances widened by the type's
// unit roundoff (opstest.Options.DType).
func TestConformanceBF16(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	opstest.Run(t, b, opstest.Options{DType: ops.BFloat16})
}

func TestConformanceFP16(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	opstest.Run(t, b, opstest.Options{DType: ops.Float16})
}

// TestHalfFloat32Only: the loss, SGD and batch norm's per-channel tensors
// are float32 only (plan D1); a half one is a programming error that
// panics with an "ops:" message naming it, before anything is queued.
func TestHalfFloat32Only(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	f := func(shape ...int) ops.Tensor {
		x, err := b.Alloc(shape...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	h := func(shape ...int) ops.Tensor { return allocAs(t, b, ops.BFloat16, shape...) }
	cases := []struct {
		name, want string
		call       func()
	}{
		{"loss", "ops: SoftmaxCrossEntropy's logits is bfloat16; it must be float32", func() {
			b.SoftmaxCrossEntropy(nil, f(2), f(2), h(2, 3), f(2))
		}},
		{"sgd", "ops: SGDUpdate's v is bfloat16; it must be float32", func() {
			b.SGDUpdate(f(4), f(4), h(4), ops.SGDParams{LR: 0.1})
		}},
		{"bn", "ops: BatchNormAddReLUForwardTraining's gamma is bfloat16; it must be float32", func() {
			b.BatchNormAddReLUForwardTraining(h(2, 1, 1, 1), h(2, 1, 1, 1), nil, h(1), f(1), f(1), f(1), f(1), f(1),
				ops.BatchNormParams{Eps: 1e-5, Momentum: 0.1})
		}},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if r := recover(); r != c.want {
					t.Errorf("%s: panic %v, want %q", c.name, r, c.want)
				}
			}()
			c.call()
		}()
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}
