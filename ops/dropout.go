package ops

import "math"

// DropoutKeep reports whether element i of a dropout mask drawn with seed and
// drop probability p is kept. It is pinned here, not left to each backend, so
// that the CPU reference and the GPU draw the same masks: a counter-based
// generator (SplitMix64's finaliser over seed and index) needs no state and
// runs the same in Go and in a CUDA kernel.
func DropoutKeep(seed uint64, i int, p float32) bool {
	return DropoutUniform(seed, i) >= p
}

// DropoutUniform is the uniform number in [0, 1) that DropoutKeep compares
// with p: the top 24 bits of SplitMix64(seed + (i+1)·0x9E3779B97F4A7C15),
// exactly representable in float32.
func DropoutUniform(seed uint64, i int) float32 {
	z := seed + uint64(i+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return float32(z>>40) / (1 << 24)
}

// SeedWords holds seed in two float32 elements, its low and high 32 bits as
// their bit patterns (not their values): the device-side seed base of
// DropoutMaskFrom, uploaded with CopyIn, which moves bits unchanged.
func SeedWords(seed uint64) [2]float32 {
	return [2]float32{math.Float32frombits(uint32(seed)), math.Float32frombits(uint32(seed >> 32))}
}

// SeedFromWords is SeedWords' inverse.
func SeedFromWords(w [2]float32) uint64 {
	return uint64(math.Float32bits(w[0])) | uint64(math.Float32bits(w[1]))<<32
}
