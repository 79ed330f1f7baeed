package cpuref

// Block sizes of gemm. A kBlock×nBlock panel of B is packed once (64 KiB,
// in L2) and reused by every pair of A's rows, each 4-column strip of it (4 KiB)
// staying in L1 while it is read; chosen by rough measurement on a busy
// 2-core AMD EPYC, where several sizes came within the noise of each other.
// gemmFMA shares kBlock, so that both paths split k the same way.
const (
	kBlock = 256
	nBlock = 64
)

// gemm computes C (m×n) = A (m×k) · B (k×n), or C += A·B when add is true.
// All three are row-major with leading dimensions lda, ldb, ldc. It runs on
// the calling goroutine; callers parallelise over independent products.
// gemmBT is the same with B given transposed.
//
// Each C element is the float32 sum of its kBlock-long partial sums taken in
// order, each partial sum in increasing p: a fixed order that depends only on
// k, never on m, n or how callers split the work. On amd64 with AVX2 and FMA
// (haveFMA, fixed for the process) the partial sums are chains of fused
// multiply-adds (gemmFMA), elsewhere separate products and sums (gemmGo):
// the two paths give different bits, but a machine always takes the same one.
func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, add bool) {
	gemmStrided(m, n, k, a, lda, b, ldb, 1, c, ldc, add)
}

// gemmBT computes C (m×n) = A (m×k) · Bᵀ, or C += A·Bᵀ, for B (n×k) row-major
// with leading dimension ldb; it spares ConvBackwardFilter a transpose of its
// im2col matrix.
func gemmBT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, add bool) {
	gemmStrided(m, n, k, a, lda, b, 1, ldb, c, ldc, add)
}

// gemmStrided is gemm with B's element (p, j) at b[p·sp + j·sj].
func gemmStrided(m, n, k int, a []float32, lda int, b []float32, sp, sj int, c []float32, ldc int, add bool) {
	if haveFMA {
		gemmFMA(m, n, k, a, lda, b, sp, sj, c, ldc, add)
		return
	}
	gemmGo(m, n, k, a, lda, b, sp, sj, c, ldc, add)
}

// gemmGo is gemmStrided in pure Go.
func gemmGo(m, n, k int, a []float32, lda int, b []float32, sp, sj int, c []float32, ldc int, add bool) {
	if !add {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
	}
	var packed [kBlock * nBlock]float32 // on the stack: no allocation
	for j0 := 0; j0 < n; j0 += nBlock {
		j1 := min(j0+nBlock, n)
		j4 := j0 + (j1-j0)/4*4 // columns [j4, j1) are left over from the 4-wide tiles
		for p0 := 0; p0 < k; p0 += kBlock {
			p1 := min(p0+kBlock, k)
			pack := packed[:(p1-p0)*(j4-j0)]
			packB(pack, b, sp, sj, p0, p1, j0, j4)
			i := 0
			for ; i+2 <= m; i += 2 {
				kernel2x4(a[i*lda+p0:i*lda+p1], a[(i+1)*lda+p0:(i+1)*lda+p1], pack, c[i*ldc+j0:], c[(i+1)*ldc+j0:], j4-j0)
				edge(a[i*lda:], b, sp, sj, c[i*ldc:], p0, p1, j4, j1)
				edge(a[(i+1)*lda:], b, sp, sj, c[(i+1)*ldc:], p0, p1, j4, j1)
			}
			if i < m {
				edge(a[i*lda:], b, sp, sj, c[i*ldc:], p0, p1, j0, j1)
			}
		}
	}
}

// packB copies B[p0:p1, j0:j1] (j1−j0 a multiple of 4) into pack as strips of
// four columns, each strip (p1−p0)×4 and contiguous, the order kernel2x4
// reads them in: one cache line feeds four steps of p.
func packB(pack, b []float32, sp, sj, p0, p1, j0, j1 int) {
	i := 0
	for j := j0; j < j1; j += 4 {
		for p := p0; p < p1; p++ {
			o := p*sp + j*sj
			dst := pack[i : i+4 : i+4]
			dst[0], dst[1], dst[2], dst[3] = b[o], b[o+sj], b[o+2*sj], b[o+3*sj]
			i += 4
		}
	}
}

// kernel2x4 adds [a0; a1] (2×kb) · B (kb×w, packed by packB) into the rows
// c0 and c1 (w columns each, w a multiple of 4). Each 2×4 tile of C is summed
// in eight register accumulators: Go does not vectorise, so the best a scalar
// kernel can do is keep its multiply-adds off memory, and eight sums fit the
// SSE registers beside the six operands they need.
func kernel2x4(a0, a1, pack, c0, c1 []float32, w int) {
	kb := len(a0)
	a1 = a1[:kb] // proves to the compiler that a1[p] is in range
	for j := 0; j < w; j += 4 {
		strip := pack[j*kb : (j+4)*kb]
		var c00, c01, c02, c03, c10, c11, c12, c13 float32
		for p, x0 := range a0 {
			x1 := a1[p]
			bp := strip[4*p : 4*p+4 : 4*p+4]
			b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
			c00 += x0 * b0
			c01 += x0 * b1
			c02 += x0 * b2
			c03 += x0 * b3
			c10 += x1 * b0
			c11 += x1 * b1
			c12 += x1 * b2
			c13 += x1 * b3
		}
		r0 := c0[j : j+4 : j+4]
		r0[0] += c00
		r0[1] += c01
		r0[2] += c02
		r0[3] += c03
		r1 := c1[j : j+4 : j+4]
		r1[0] += c10
		r1[1] += c11
		r1[2] += c12
		r1[3] += c13
	}
}

// edge adds A[0, p0:p1] · B[p0:p1, j0:j1] into C[0, j0:j1] one element at a
// time, for the rows and columns the 2×4 tiles leave over. Its sums run in
// the same order as kernel2x4's.
func edge(a []float32, b []float32, sp, sj int, c []float32, p0, p1, j0, j1 int) {
	as := a[p0:p1]
	for j := j0; j < j1; j++ {
		var s float32
		off := p0*sp + j*sj
		for _, x := range as {
			s += x * b[off]
			off += sp
		}
		c[j] += s
	}
}

// transpose writes dst (cols×rows) = srcᵀ for src (rows×cols), both dense.
func transpose(dst, src []float32, rows, cols int) {
	const tile = 32 // keeps both the rows read and the rows written in cache
	for i0 := 0; i0 < rows; i0 += tile {
		for j0 := 0; j0 < cols; j0 += tile {
			for i := i0; i < min(i0+tile, rows); i++ {
				for j := j0; j < min(j0+tile, cols); j++ {
					dst[j*rows+i] = src[i*cols+j]
				}
			}
		}
	}
}
