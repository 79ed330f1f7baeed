package opstest

import (
	"math"
	"math/rand/v2"
)

// newRand is the suite's seeded generator: every run draws the same cases.
func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// uniform returns n values drawn uniformly from [lo, hi).
func uniform(rng *rand.Rand, n int, lo, hi float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = lo + (hi-lo)*rng.Float32()
	}
	return x
}

// awayFromZero returns n values uniform in ±[margin, 1): inputs for ReLU
// whose sign a small finite-difference step cannot flip.
func awayFromZero(rng *rand.Rand, n int, margin float32) []float32 {
	x := uniform(rng, n, margin, 1)
	for i := range x {
		if rng.IntN(2) == 0 {
			x[i] = -x[i]
		}
	}
	return x
}

// labels returns n class indices in 0..k−1, as floats.
func labels(rng *rand.Rand, n, k int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.IntN(k))
	}
	return x
}

func filled(n int, v float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = v
	}
	return x
}

func clone(x []float32) []float32 { return append([]float32(nil), x...) }

func nan32() float32 { return float32(math.NaN()) }

// scaled returns x·a, elementwise.
func scaled(x []float32, a float32) []float32 {
	y := make([]float32, len(x))
	for i := range x {
		y[i] = x[i] * a
	}
	return y
}

func f32s(x ...float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}
