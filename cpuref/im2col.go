package cpuref

// convGeom is the geometry of one convolution, shared by im2col and col2im.
type convGeom struct {
	c, h, w      int // input channels and size
	kh, kw       int // kernel size
	ho, wo       int // output size
	sh, sw       int // strides
	ph, pw       int // padding
	rows, pixels int // im2col matrix: c·kh·kw rows, ho·wo columns
}

// direct reports whether the im2col matrix of one sample is the sample itself
// (a 1×1 kernel, stride 1, no padding), so the copy can be skipped.
func (g convGeom) direct() bool {
	return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0
}

// same3x3 reports whether g is a 3×3 kernel, stride 1, padding 1 (output the
// size of the input), which col2im handles with a fused specialised loop.
func (g convGeom) same3x3() bool {
	return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.ph == 1 && g.pw == 1
}

// xRange returns the output columns [lo, hi) of kernel column j whose input
// column ox·sw−pw+j lies inside the input, 0 <= lo <= hi <= wo; the columns
// outside it fall in the padding.
func (g convGeom) xRange(j int) (lo, hi int) { return validRange(j, g.pw, g.sw, g.w, g.wo) }

// yRange is xRange for rows: the output rows [lo, hi) of kernel row i whose
// input row oy·sh−ph+i lies inside the input.
func (g convGeom) yRange(i int) (lo, hi int) { return validRange(i, g.ph, g.sh, g.h, g.ho) }

// validRange is the range of outputs o in [0, out) whose input o·stride−pad+k
// lies in [0, in), for kernel offset k along one axis.
func validRange(k, pad, stride, in, out int) (lo, hi int) {
	if d := pad - k; d > 0 {
		lo = (d + stride - 1) / stride
	}
	if t := in - 1 + pad - k; t >= 0 {
		hi = t/stride + 1
	}
	hi = min(hi, out)
	lo = min(lo, hi)
	return lo, hi
}

// im2col writes col (c·kh·kw, ho·wo) from one sample x (c,h,w): row
// (ci·kh+i)·kw+j, column oy·wo+ox holds x[ci, oy·sh−ph+i, ox·sw−pw+j], or 0
// where that falls in the padding. Every element of col is written.
//
// It is a pure copy, so any way of copying gives the same bits: the valid
// row and column ranges are computed once per row of col, the padding
// cleared and the rest copied as one segment per output row (stride 1) or
// gathered (wider strides); stride 1 with the output as wide as the input
// (3×3 padding 1) copies whole blocks (im2colSame).
func im2col(col, x []float32, g convGeom) {
	if g.sh == 1 && g.sw == 1 && g.wo == g.w {
		im2colSame(col, x, g)
		return
	}
	hw := g.h * g.w
	wo, sw := g.wo, g.sw
	r := 0
	for ci := range g.c {
		plane := x[ci*hw : (ci+1)*hw]
		for i := range g.kh {
			for j := range g.kw {
				dst := col[r*g.pixels : (r+1)*g.pixels]
				r++
				lo, hi := g.xRange(j)
				oy0, oy1 := g.yRange(i)
				if oy0 == oy1 || lo == hi {
					clear(dst)
					continue
				}
				clear(dst[:oy0*wo])
				clear(dst[oy1*wo:])
				off := lo*sw - g.pw + j // input column of output column lo
				for oy := oy0; oy < oy1; oy++ {
					row := dst[oy*wo : (oy+1)*wo]
					y := oy*g.sh - g.ph + i
					gatherRow(row, plane[y*g.w+off:], lo, hi, sw)
				}
			}
		}
	}
}

// gatherRow fills row with 0s outside [lo, hi) and row[lo+k] = src[k·sw]
// inside.
func gatherRow(row, src []float32, lo, hi, sw int) {
	left, seg, right := row[:lo], row[lo:hi], row[hi:]
	for k := range left {
		left[k] = 0
	}
	for k := range right {
		right[k] = 0
	}
	if sw == 1 {
		copy(seg, src)
		return
	}
	if len(seg) == 0 {
		return
	}
	src = src[:(len(seg)-1)*sw+1]
	for k := range seg {
		seg[k] = src[k*sw]
	}
}

// im2colSame is im2col for stride 1 with an output as wide as the input
// (kw = 2·pw+1, as in a 3×3 kernel with padding 1). Then each row of col is
// the input plane shifted by a constant, so the valid output rows are copied
// as one block and the few columns that fall in the padding cleared after.
func im2colSame(col, x []float32, g convGeom) {
	w := g.w
	hw := g.h * w
	r := 0
	for ci := range g.c {
		plane := x[ci*hw : (ci+1)*hw]
		for i := range g.kh {
			// Output rows [oy0, oy1) read input rows oy−ph+i inside the input.
			oy0, oy1 := g.yRange(i)
			for j := range g.kw {
				dst := col[r*g.pixels : (r+1)*g.pixels]
				r++
				lo, hi := g.xRange(j)
				if oy0 >= oy1 || lo == hi {
					clear(dst)
					continue
				}
				clear(dst[:oy0*w])
				clear(dst[oy1*w:])
				// dst[oy·w+ox] = plane[(oy−ph+i)·w + ox−pw+j] for oy in
				// [oy0, oy1), ox in [lo, hi): one shifted block, which also
				// fills the padding columns with wrapped values, cleared below.
				shift := (i-g.ph)*w + j - g.pw
				a, b := oy0*w+lo, (oy1-1)*w+hi
				copy(dst[a:b], plane[a+shift:b+shift])
				if lo == 0 && hi == w {
					continue
				}
				for oy := oy0; oy < oy1; oy++ {
					row := dst[oy*w : (oy+1)*w]
					left, right := row[:lo], row[hi:]
					for k := range left {
						left[k] = 0
					}
					for k := range right {
						right[k] = 0
					}
				}
			}
		}
	}
}

// col2im adds col (c·kh·kw, ho·wo) into one sample dx (c,h,w): the adjoint of
// im2col. Overlapping windows add in the fixed order of col's rows: each
// element of dx gets at most one term from each row of col, and adds them in
// increasing row order, so the result is fixed by the sizes alone.
func col2im(dx, col []float32, g convGeom) {
	if g.same3x3() {
		col2im3x3(dx, col, g)
		return
	}
	hw := g.h * g.w
	r := 0
	for ci := range g.c {
		plane := dx[ci*hw : (ci+1)*hw]
		for i := range g.kh {
			for j := range g.kw {
				src := col[r*g.pixels : (r+1)*g.pixels]
				r++
				lo, hi := g.xRange(j)
				oy0, oy1 := g.yRange(i)
				if lo == hi {
					continue
				}
				off := lo*g.sw - g.pw + j
				for oy := oy0; oy < oy1; oy++ {
					y := oy*g.sh - g.ph + i
					seg := src[oy*g.wo+lo : oy*g.wo+hi]
					if g.sw == 1 {
						addTo(plane[y*g.w+off:y*g.w+off+len(seg)], seg)
						continue
					}
					dst := plane[y*g.w+off : y*g.w+g.w]
					for k, v := range seg {
						dst[k*g.sw] += v
					}
				}
			}
		}
	}
}

// addTo does d[k] += s[k] for every k < len(d); len(s) >= len(d).
func addTo(d, s []float32) {
	s = s[:len(d)]
	k := 0
	for ; k+4 <= len(d); k += 4 {
		dd, ss := d[k:k+4:k+4], s[k:k+4:k+4]
		dd[0] += ss[0]
		dd[1] += ss[1]
		dd[2] += ss[2]
		dd[3] += ss[3]
	}
	for ; k < len(d); k++ {
		d[k] += s[k]
	}
}

// col2im3x3 is col2im for a 3×3 kernel, stride 1, padding 1 (so ho = h and
// wo = w). Row by row of dx, it adds all nine taps of an interior row in one
// pass (add9Taps), and for the first and last rows, kernel row by kernel row,
// the three taps j = 0, 1, 2 in one pass (add3Taps). Either way every element
// of dx gets its terms in increasing row order of col, exactly as the generic
// loop adds them, so the results are bitwise the same.
func col2im3x3(dx, col []float32, g convGeom) {
	h, w := g.h, g.w
	hw := h * w
	for ci := range g.c {
		plane := dx[ci*hw : (ci+1)*hw]
		base := col[ci*9*hw : (ci+1)*9*hw]
		for y := range h {
			d := plane[y*w : (y+1)*w]
			if y >= 1 && y < h-1 && w >= 2 {
				// All three kernel rows reach row y: oy = y+1, y, y−1.
				add9Taps(d, base, y, hw, w)
				continue
			}
			for i := range 3 {
				oy := y + 1 - i
				if oy < 0 || oy >= h {
					continue
				}
				rows := base[i*3*hw : (i+1)*3*hw]
				a := rows[oy*w : (oy+1)*w]           // j = 0: dx column x from col column x+1
				b := rows[hw+oy*w : hw+(oy+1)*w]     // j = 1: column x
				c := rows[2*hw+oy*w : 2*hw+(oy+1)*w] // j = 2: column x−1
				add3Taps(d, a, b, c)
			}
		}
	}
}

// add3Taps does, for every x of d, in this order: d[x] += a[x+1] (if x+1 <
// len), d[x] += b[x], d[x] += c[x−1] (if x >= 1). a, b, c have len(d) elements.
func add3Taps(d, a, b, c []float32) {
	n := len(d)
	if n == 1 {
		d[0] += b[0]
		return
	}
	a, b, c = a[:n], b[:n], c[:n]
	// x = 0: no c term.
	d[0] = d[0] + a[1] + b[0]
	for x := 1; x < n-1; x++ {
		d[x] = d[x] + a[x+1] + b[x] + c[x-1]
	}
	// x = n−1: no a term.
	d[n-1] = d[n-1] + b[n-1] + c[n-2]
}

// add9Taps adds, for every x of d (row y of a dx plane, 1 <= y < h−1, len(d)
// = w >= 2), the nine terms of col2im3x3 for that row, in col's row order:
// for i = 0, 1, 2 and j = 0, 1, 2, d[x] += base[(3i+j)·hw + (y+1−i)·w + x+1−j],
// skipping the terms that fall outside the row (j = 0 at the last column,
// j = 2 at the first). base is the channel's 9·hw block of col.
func add9Taps(d, base []float32, y, hw, w int) {
	n := len(d)
	var tp [9][]float32
	for i := range 3 {
		for j := range 3 {
			// tp[k][x+1] is term k = 3i+j for column x.
			o := (3*i+j)*hw + (y+1-i)*w - j
			tp[3*i+j] = base[o : o+n+1]
		}
	}
	t00, t01, t02 := tp[0], tp[1], tp[2]
	t10, t11, t12 := tp[3], tp[4], tp[5]
	t20, t21, t22 := tp[6], tp[7], tp[8]
	t00, t01, t02 = t00[:n+1], t01[:n+1], t02[:n+1]
	t10, t11, t12 = t10[:n+1], t11[:n+1], t12[:n+1]
	t20, t21, t22 = t20[:n+1], t21[:n+1], t22[:n+1]
	// x = 0: no j = 2 terms.
	d[0] = d[0] + t00[1] + t01[1] + t10[1] + t11[1] + t20[1] + t21[1]
	for x := 1; x < n-1; x++ {
		v := d[x]
		v += t00[x+1]
		v += t01[x+1]
		v += t02[x+1]
		v += t10[x+1]
		v += t11[x+1]
		v += t12[x+1]
		v += t20[x+1]
		v += t21[x+1]
		v += t22[x+1]
		d[x] = v
	}
	// x = n−1: no j = 0 terms.
	x := n - 1
	d[x] = d[x] + t01[x+1] + t02[x+1] + t11[x+1] + t12[x+1] + t21[x+1] + t22[x+1]
}
