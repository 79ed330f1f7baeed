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
func (g convGeom) xRange(j int) (lo, hi int) {
	if d := g.pw - j; d > 0 {
		lo = (d + g.sw - 1) / g.sw
	}
	if t := g.w - 1 + g.pw - j; t >= 0 {
		hi = t/g.sw + 1
	}
	hi = min(hi, g.wo)
	lo = min(lo, hi)
	return lo, hi
}

// im2col writes col (c·kh·kw, ho·wo) from one sample x (c,h,w): row
// (ci·kh+i)·kw+j, column oy·wo+ox holds x[ci, oy·sh−ph+i, ox·sw−pw+j], or 0
// where that falls in the padding. Every element of col is written.
//
// It is a pure copy: per row of col, the valid column range is computed once,
// the padding on either side cleared and the rest copied as one segment
// (stride 1) or gathered (wider strides).
func im2col(col, x []float32, g convGeom) {
	hw := g.h * g.w
	r := 0
	for ci := range g.c {
		plane := x[ci*hw : (ci+1)*hw]
		for i := range g.kh {
			for j := range g.kw {
				dst := col[r*g.pixels : (r+1)*g.pixels]
				r++
				lo, hi := g.xRange(j)
				off := lo*g.sw - g.pw + j // input column of output column lo
				for oy := range g.ho {
					row := dst[oy*g.wo : (oy+1)*g.wo]
					y := oy*g.sh - g.ph + i
					if y < 0 || y >= g.h || lo == hi {
						clear(row)
						continue
					}
					clear(row[:lo])
					clear(row[hi:])
					seg := row[lo:hi]
					if g.sw == 1 {
						copy(seg, plane[y*g.w+off:])
						continue
					}
					src := plane[y*g.w+off : y*g.w+g.w]
					for k := range seg {
						seg[k] = src[k*g.sw]
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
				if lo == hi {
					continue
				}
				off := lo*g.sw - g.pw + j
				for oy := range g.ho {
					y := oy*g.sh - g.ph + i
					if y < 0 || y >= g.h {
						continue
					}
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
// wo = w). For each row y of dx and each kernel row i it adds the three taps
// j = 0, 1, 2 of col row (ci·3+i)·3+j in one pass, in that order, and takes
// the kernel rows in order: every element of dx gets its terms in increasing
// row order of col, exactly as the generic loop adds them.
func col2im3x3(dx, col []float32, g convGeom) {
	h, w := g.h, g.w
	hw := h * w
	for ci := range g.c {
		plane := dx[ci*hw : (ci+1)*hw]
		base := col[ci*9*hw : (ci+1)*9*hw]
		for y := range h {
			d := plane[y*w : (y+1)*w]
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
