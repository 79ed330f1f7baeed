package ops

import (
	"math"
	"testing"
)

func TestBF16Bits(t *testing.T) {
	for _, c := range []struct {
		in   uint32 // float32 bits
		want uint16
	}{
		{0x3F800000, 0x3F80}, // 1
		{0xBF800000, 0xBF80}, // -1
		{0x80000000, 0x8000}, // -0
		{0x3F808000, 0x3F80}, // 1+2^-8: a tie, to the even 0x3F80
		{0x3F818000, 0x3F82}, // a tie between 0x3F81 and 0x3F82: up to the even
		{0x3F808001, 0x3F81}, // just past the tie: up
		{0x3F807FFF, 0x3F80}, // just below: down
		{0x7F7F7FFF, 0x7F7F}, // rounds down to the largest finite bfloat16
		{0x7F7FFFFF, 0x7F80}, // float32's largest: carries into inf
		{0x7F800000, 0x7F80}, // inf
		{0x00018000, 0x0002}, // a float32 subnormal tie: to even
		{0x00010000, 0x0001}, // bfloat16's smallest subnormal
	} {
		if got := BF16Bits(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("BF16Bits(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if got := BF16Bits(float32(math.NaN())); got&0x7F80 != 0x7F80 || got&0x7F == 0 {
		t.Errorf("BF16Bits(NaN) = %#04x, not a NaN", got)
	}
	// Every bfloat16 value comes back as itself.
	for h := 0; h < 1<<16; h++ {
		x := math.Float32frombits(uint32(h) << 16)
		if x == x && BF16Bits(x) != uint16(h) {
			t.Fatalf("BF16Bits(%g) = %#04x, want %#04x", x, BF16Bits(x), h)
		}
	}
}

func TestF16Bits(t *testing.T) {
	p := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	for _, c := range []struct {
		in   float32
		want uint16
	}{
		{1, 0x3C00},
		{-2, 0xC000},
		{65504, 0x7BFF},        // the largest finite
		{65519.99, 0x7BFF},     // below the midpoint to 2^16: down
		{65520, 0x7C00},        // the midpoint: a tie, to the even, which is inf
		{1e6, 0x7C00},          // overflow
		{65536, 0x7C00},        // 2^16: binary16's exponent field would be all ones
		{100000, 0x7C00},       // the same binade with a fraction: inf, not a NaN
		{-1e6, 0xFC00},         // negative overflow
		{1 + p(-11), 0x3C00},   // a tie: to the even 0x3C00
		{1 + 3*p(-11), 0x3C02}, // a tie between 0x3C01 and 0x3C02: up
		{p(-14), 0x0400},       // the smallest normal
		{1023 * p(-24), 0x03FF},
		{1023.5 * p(-24), 0x0400}, // a subnormal tie carrying into the smallest normal
		{p(-24), 0x0001},          // the smallest subnormal
		{p(-25), 0x0000},          // half of it: a tie, to the even zero
		{p(-25) * 1.0001, 0x0001}, // just past: up
		{3 * p(-25), 0x0002},      // a tie between 1 and 2 subnormal units: the even
		{-p(-24), 0x8001},
		{1e-10, 0x0000},
		{float32(math.Inf(1)), 0x7C00},
	} {
		if got := F16Bits(c.in); got != c.want {
			t.Errorf("F16Bits(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if got := F16Bits(float32(math.NaN())); got&0x7C00 != 0x7C00 || got&0x3FF == 0 {
		t.Errorf("F16Bits(NaN) = %#04x, not a NaN", got)
	}
	// Every float16 value comes back as itself through F16Value.
	for h := 0; h < 1<<16; h++ {
		x := F16Value(uint16(h))
		if x == x && F16Bits(x) != uint16(h) {
			t.Fatalf("F16Bits(F16Value(%#04x) = %g) = %#04x", h, x, F16Bits(x))
		}
	}
}

// TestRoundIsNearest checks Round against the definition on values between
// neighbours: the result is one of the two neighbours, the nearer one.
func TestRoundIsNearest(t *testing.T) {
	for _, d := range []DType{BFloat16, Float16} {
		for i := 0; i < 20000; i++ {
			x := float32(math.Ldexp(1+float64(i)/20000, i%29-14)) // [2^-14, 2^15): normal in both
			r := Round(d, x)
			if e := math.Abs(float64(r-x)) / float64(x); e > d.UnitRoundoff() {
				t.Fatalf("%v: Round(%g) = %g, relative error %g > u = %g", d, x, r, e, d.UnitRoundoff())
			}
		}
	}
}

// TestRoundSlice: the slice form is Round element by element.
func TestRoundSlice(t *testing.T) {
	xs := make([]float32, 5000)
	for i := range xs {
		xs[i] = float32(math.Ldexp(float64(i)-2500.3, i%40-30))
	}
	for _, d := range []DType{Float32, BFloat16, Float16} {
		got := append([]float32(nil), xs...)
		RoundSlice(d, got)
		for i, x := range xs {
			if w := Round(d, x); math.Float32bits(got[i]) != math.Float32bits(w) {
				t.Fatalf("%v: RoundSlice gives %g for %g, Round %g", d, got[i], x, w)
			}
		}
	}
}
