//go:build !amd64 || purego

package cpuref

// haveFMA is false off amd64 (or with the purego tag): gemm is pure Go.
const haveFMA = false

func gemmFMA(m, n, k int, a []float32, lda int, b []float32, sp, sj int, c []float32, ldc int, add bool) {
	panic("cpuref: gemmFMA without AVX2+FMA")
}
