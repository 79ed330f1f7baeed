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

// gemmPaths are the implementations of gemmStrided this machine can run:
// the pure-Go one always, the AVX2+FMA one where haveFMA.
func gemmPaths() []struct {
	name string
	f    func(m, n, k int, a []float32, lda int, b []float32, sp, sj int, c []float32, ldc int, add bool)
} {
	paths := []struct {
		name string
		f    func(m, n, k int, a []float32, lda int, b []float32, sp, sj int, c []float32, ldc int, add bool)
	}{{"go", gemmGo}}
	if haveFMA {
		paths = append(paths, struct {
			name string
			f    func(m, n, k int, a []float32, lda int, b []float32, sp, sj int, c []float32, ldc int, add bool)
		}{"fma", gemmFMA})
	}
	return paths
}

// checkGemm runs one product through f, with leading dimensions wider than
// the matrices, B plain or transposed, and compares it with a float64 triple
// loop; it also checks that nothing outside C changed.
func checkGemm(t *testing.T, r *rand.Rand, f func(m, n, k int, a []float32, lda int, b []float32, sp, sj int, c []float32, ldc int, add bool), m, n, k int, add, bt bool) {
	t.Helper()
	lda, ldb, ldc := k+2, n+3, n+1
	a := randSlice(r, m*lda)
	b := randSlice(r, k*ldb)
	c := randSlice(r, m*ldc)
	c0 := append([]float32(nil), c...)
	if bt {
		// The same B, stored transposed (n×k) with leading dimension k+5.
		bt := make([]float32, n*(k+5))
		for p := range k {
			for j := range n {
				bt[j*(k+5)+p] = b[p*ldb+j]
			}
		}
		f(m, n, k, a, lda, bt, 1, k+5, c, ldc, add)
	} else {
		f(m, n, k, a, lda, b, ldb, 1, c, ldc, add)
	}
	for i := range m {
		for j := range ldc {
			got := c[i*ldc+j]
			if j >= n {
				if got != c0[i*ldc+j] {
					t.Fatalf("%dx%dx%d add=%v bt=%v: C[%d,%d] outside the matrix changed", m, n, k, add, bt, i, j)
				}
				continue
			}
			var want float64
			if add {
				want = float64(c0[i*ldc+j])
			}
			for p := range k {
				want += float64(a[i*lda+p]) * float64(b[p*ldb+j])
			}
			if math.Abs(float64(got)-want) > 1e-5*(1+math.Sqrt(float64(k))) {
				t.Fatalf("%dx%dx%d add=%v bt=%v: C[%d,%d] = %v, want %v", m, n, k, add, bt, i, j, got, want)
			}
		}
	}
}

// TestGemm compares gemm, gemmBT and every path of gemmStrided with a
// float64 triple loop, on sizes that leave partial blocks, tiles and rows.
func TestGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {3, 5, 7}, {4, 4, 4}, {5, 129, 33}, {16, 1024, 144}, {7, 300, 70}, {9, 1, 65}, {5, 70, 333},
		{37, 70, 520}, {64, 64, 576}, {27, 1024, 16}, {18, 27, 1024}, {6, 40, 257},
	}
	variants := []struct{ add, bt bool }{{false, false}, {true, false}, {false, true}, {true, true}}
	for _, tc := range shapes {
		for _, v := range variants {
			t.Run(fmt.Sprintf("%dx%dx%d/add=%v/bt=%v", tc.m, tc.n, tc.k, v.add, v.bt), func(t *testing.T) {
				// gemm and gemmBT, through whichever path this machine takes.
				f := func(m, n, k int, a []float32, lda int, b []float32, sp, sj int, c []float32, ldc int, add bool) {
					if sp == 1 {
						gemmBT(m, n, k, a, lda, b, sj, c, ldc, add)
					} else {
						gemm(m, n, k, a, lda, b, sp, c, ldc, add)
					}
				}
				checkGemm(t, r, f, tc.m, tc.n, tc.k, v.add, v.bt)
				for _, p := range gemmPaths() {
					checkGemm(t, r, p.f, tc.m, tc.n, tc.k, v.add, v.bt)
				}
			})
		}
	}
}

// TestGemmEdges runs every path on all small sizes: every remainder of m
// modulo the row tiles, of n modulo the column tiles, and short k.
func TestGemmEdges(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, p := range gemmPaths() {
		t.Run(p.name, func(t *testing.T) {
			for m := 1; m <= 13; m++ {
				for n := 1; n <= 40; n++ {
					for _, k := range []int{1, 2, 7, 31} {
						checkGemm(t, r, p.f, m, n, k, (m+n+k)%2 == 0, (m+n)%3 == 0)
					}
				}
			}
			for s := 1; s <= 40; s++ {
				for _, v := range []struct{ add, bt bool }{{false, false}, {true, true}} {
					checkGemm(t, r, p.f, s, 19, 5, v.add, v.bt)
					checkGemm(t, r, p.f, 6, 21, s, v.add, v.bt)
					checkGemm(t, r, p.f, s, s, s, v.add, v.bt)
				}
			}
		})
	}
}

// TestGemmOrder checks the promise in gemm's comment: an element's bits
// depend only on k and its row of A and column of B, not on m, n, where it
// falls in the tiles, or whether B is transposed. A product is recomputed
// from every offset of a sub-block and compared bit for bit.
func TestGemmOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const m, n = 11, 45
	for _, k := range []int{3, 300} {
		a, b := randSlice(r, m*k), randSlice(r, k*n)
		bt := make([]float32, n*k)
		transpose(bt, b, k, n)
		for _, p := range gemmPaths() {
			full := make([]float32, m*n)
			p.f(m, n, k, a, k, b, n, 1, full, n, false)
			fullT := make([]float32, m*n)
			p.f(m, n, k, a, k, bt, 1, k, fullT, n, false)
			for e := range full {
				if math.Float32bits(full[e]) != math.Float32bits(fullT[e]) {
					t.Fatalf("%s k=%d: element %d: %v with B, %v with Bᵀ", p.name, k, e, full[e], fullT[e])
				}
			}
			for i0 := range 6 {
				for j0 := range 20 {
					mm, nn := m-i0-i0%3, n-j0-j0%7
					sub := make([]float32, mm*nn)
					p.f(mm, nn, k, a[i0*k:], k, b[j0:], n, 1, sub, nn, false)
					for i := range mm {
						for j := range nn {
							if got, want := sub[i*nn+j], full[(i0+i)*n+j0+j]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("%s k=%d: C[%d,%d] = %v as part of %dx%d, %v of %dx%d", p.name, k, i0+i, j0+j, got, mm, nn, want, m, n)
							}
						}
					}
				}
			}
		}
	}
}

// TestGemmNoAlloc checks that gemm allocates nothing: its buffers are on the
// stack.
func TestGemmNoAlloc(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m, n, k := 13, 70, 300
	a, b, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	if allocs := testing.AllocsPerRun(5, func() {
		gemm(m, n, k, a, k, b, n, c, n, false)
		gemmBT(m, n, k, a, k, b, k, c, n, true)
	}); allocs != 0 {
		t.Errorf("gemm allocates %v times per call", allocs)
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
