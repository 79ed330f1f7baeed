package cpuref

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// TestGemm compares gemm with a float64 triple loop, with leading dimensions
// wider than the matrices and sizes that leave partial blocks and rows.
func TestGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ m, n, k int }{
		{1, 1, 1}, {3, 5, 7}, {4, 4, 4}, {5, 129, 33}, {16, 1024, 144}, {7, 300, 70}, {9, 1, 65}, {5, 70, 333},
	} {
		for _, v := range []struct {
			add, bt bool
		}{{false, false}, {true, false}, {false, true}, {true, true}} {
			add := v.add
			t.Run(fmt.Sprintf("%dx%dx%d/add=%v/bt=%v", tc.m, tc.n, tc.k, v.add, v.bt), func(t *testing.T) {
				lda, ldb, ldc := tc.k+2, tc.n+3, tc.n+1
				a := randSlice(r, tc.m*lda)
				b := randSlice(r, tc.k*ldb)
				c := randSlice(r, tc.m*ldc)
				c0 := append([]float32(nil), c...)
				if v.bt {
					// The same B, stored transposed (n×k) with leading dimension k+5.
					bt := make([]float32, tc.n*(tc.k+5))
					for p := range tc.k {
						for j := range tc.n {
							bt[j*(tc.k+5)+p] = b[p*ldb+j]
						}
					}
					gemmBT(tc.m, tc.n, tc.k, a, lda, bt, tc.k+5, c, ldc, add)
				} else {
					gemm(tc.m, tc.n, tc.k, a, lda, b, ldb, c, ldc, add)
				}
				for i := range tc.m {
					for j := range ldc {
						got := c[i*ldc+j]
						if j >= tc.n {
							if got != c0[i*ldc+j] {
								t.Fatalf("C[%d,%d] outside the matrix changed", i, j)
							}
							continue
						}
						var want float64
						if add {
							want = float64(c0[i*ldc+j])
						}
						for p := range tc.k {
							want += float64(a[i*lda+p]) * float64(b[p*ldb+j])
						}
						if math.Abs(float64(got)-want) > 1e-5*(1+math.Sqrt(float64(tc.k))) {
							t.Fatalf("C[%d,%d] = %v, want %v", i, j, got, want)
						}
					}
				}
			})
		}
	}
}

func TestTranspose(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ rows, cols int }{{1, 1}, {3, 70}, {33, 65}} {
		src := randSlice(r, tc.rows*tc.cols)
		dst := make([]float32, len(src))
		transpose(dst, src, tc.rows, tc.cols)
		for i := range tc.rows {
			for j := range tc.cols {
				if dst[j*tc.rows+i] != src[i*tc.cols+j] {
					t.Fatalf("%dx%d: dst[%d,%d] = %v, want %v", tc.rows, tc.cols, j, i, dst[j*tc.rows+i], src[i*tc.cols+j])
				}
			}
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	m, n, k := 16, 1024, 144 // one CIFAR stage-1 sample: w (16×144) · col (144×1024)
	a, bb, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	for b.Loop() {
		gemm(m, n, k, a, k, bb, n, c, n, false)
	}
	b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
