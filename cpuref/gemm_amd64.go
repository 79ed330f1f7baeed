//go:build amd64 && !purego

package cpuref

import "golang.org/x/sys/cpu"

// haveFMA selects gemmFMA, the AVX2+FMA path, once for the process: a given
// machine always takes the same path, so its results never change run to run.
var haveFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel4x16 stores C[0:4, 0:16] = A[0:4, 0:kb] · B, or adds it when add is
// set, for A's rows lda floats apart, B packed by packStrip and C's rows ldc
// floats apart; kb ≥ 1. See gemm_amd64.s.
//
//go:noescape
func kernel4x16(a *float32, lda int, b *float32, kb int, c *float32, ldc int, add bool)

// copyStrip copies kb rows of 16 floats, ldb apart in b, to dst, 16 apart.
//
//go:noescape
func copyStrip(dst, b *float32, ldb, kb int)

// gemmFMA is gemmStrided on AVX2+FMA. For each kBlock-long slice of p, it
// packs B 16 columns at a time into a strip (16 KiB, in L1, zero-padded past
// n) and runs kernel4x16 down it over A's rows, four at a time; the last
// m mod 4 rows are copied into a 4-row buffer. Tiles that stick out of C are
// computed into a scratch tile, and their valid part added to C. (A 6×16
// kernel, twelve accumulators, measured no faster here: the kernel alone
// runs near the FMA peak either way, and gemm is bound by packing and memory.)
//
// Every C element thus gets the same arithmetic: each kBlock-long partial
// sum is an FMA chain in increasing p, starting from zero, and the partial
// sums are added to C in order (the first one stored, unless adding to C).
// The order depends only on k.
func gemmFMA(m, n, k int, a []float32, lda int, b []float32, sp, sj int, c []float32, ldc int, add bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !add {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	// The kernel reads and writes nothing beyond these two elements.
	_ = a[(m-1)*lda+k-1]
	_ = c[(m-1)*ldc+n-1]

	var strip [kBlock * 16]float32 // packed B[p0:p1, j0:j0+16]
	var rows [4 * kBlock]float32   // A's last m mod 4 rows, kBlock apart
	var tile [4 * 16]float32       // a tile that does not fit in C
	m4 := m / 4 * 4
	for p0 := 0; p0 < k; p0 += kBlock {
		p1 := min(p0+kBlock, k)
		kb := p1 - p0
		// The first partial sums are stored, not added to C, unless asked to
		// add: C need not be cleared first (0 + s is s, but for the sign of
		// a zero).
		accumulate := add || p0 > 0
		for i := m4; i < m; i++ {
			copy(rows[(i-m4)*kBlock:], a[i*lda+p0:i*lda+p1])
		}
		for j0 := 0; j0 < n; j0 += 16 {
			w := min(16, n-j0)
			packStrip(strip[:kb*16], b, sp, sj, p0, p1, j0, w)
			for i := 0; i < m4; i += 4 {
				if w == 16 {
					kernel4x16(&a[i*lda+p0], lda, &strip[0], kb, &c[i*ldc+j0], ldc, accumulate)
				} else {
					kernel4x16(&a[i*lda+p0], lda, &strip[0], kb, &tile[0], 16, false)
					putTile(c[i*ldc+j0:], ldc, &tile, 4, w, accumulate)
				}
			}
			if m4 < m {
				kernel4x16(&rows[0], kBlock, &strip[0], kb, &tile[0], 16, false)
				putTile(c[m4*ldc+j0:], ldc, &tile, m-m4, w, accumulate)
			}
		}
	}
}

// packStrip copies B[p0:p1, j0:j0+w] into dst (p1−p0)×16, row p at
// dst[16(p−p0):], and zeroes columns w to 16.
func packStrip(dst, b []float32, sp, sj, p0, p1, j0, w int) {
	switch {
	case sj == 1 && w == 16: // gemm: rows of B are contiguous
		_ = b[(p1-1)*sp+j0+15] // the last element copyStrip reads
		_ = dst[(p1-p0)*16-1]
		copyStrip(&dst[0], &b[p0*sp+j0], sp, p1-p0)
		return
	case sp == 1: // gemmBT: columns of B are contiguous
		kb := p1 - p0
		jj := 0
		for ; jj+4 <= w; jj += 4 { // four columns at a time
			o := (j0+jj)*sj + p0
			b0, b1, b2, b3 := b[o:o+kb], b[o+sj:o+sj+kb], b[o+2*sj:o+2*sj+kb], b[o+3*sj:o+3*sj+kb]
			for q, v := range b0 {
				d := dst[q*16+jj : q*16+jj+4 : q*16+jj+4]
				d[0], d[1], d[2], d[3] = v, b1[q], b2[q], b3[q]
			}
		}
		for ; jj < w; jj++ {
			o := (j0+jj)*sj + p0
			for q, v := range b[o : o+kb] {
				dst[q*16+jj] = v
			}
		}
	default:
		for p := p0; p < p1; p++ {
			d := (p - p0) * 16
			for jj := range w {
				dst[d+jj] = b[p*sp+(j0+jj)*sj]
			}
		}
	}
	if w < 16 {
		for d := 0; d < len(dst); d += 16 {
			clear(dst[d+w : d+16])
		}
	}
}

// putTile adds (accumulate) or copies the top-left rows×w of tile (rows 16
// apart) into C.
func putTile(c []float32, ldc int, tile *[4 * 16]float32, rows, w int, accumulate bool) {
	for r := range rows {
		cr := c[r*ldc : r*ldc+w]
		if !accumulate {
			copy(cr, tile[r*16:r*16+w])
			continue
		}
		for jj := range cr {
			cr[jj] += tile[r*16+jj]
		}
	}
}
