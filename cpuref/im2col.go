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

// im2col writes col (c·kh·kw, ho·wo) from one sample x (c,h,w): row
// (ci·kh+i)·kw+j, column oy·wo+ox holds x[ci, oy·sh−ph+i, ox·sw−pw+j], or 0
// where that falls in the padding. Every element of col is written.
func im2col(col, x []float32, g convGeom) {
	r := 0
	for ci := range g.c {
		plane := x[ci*g.h*g.w : (ci+1)*g.h*g.w]
		for i := range g.kh {
			for j := range g.kw {
				dst := col[r*g.pixels : (r+1)*g.pixels]
				for oy := range g.ho {
					y := oy*g.sh - g.ph + i
					row := dst[oy*g.wo : (oy+1)*g.wo]
					if y < 0 || y >= g.h {
						clear(row)
						continue
					}
					src := plane[y*g.w : (y+1)*g.w]
					for ox := range row {
						xx := ox*g.sw - g.pw + j
						if xx >= 0 && xx < g.w {
							row[ox] = src[xx]
						} else {
							row[ox] = 0
						}
					}
				}
				r++
			}
		}
	}
}

// col2im adds col (c·kh·kw, ho·wo) into one sample dx (c,h,w): the adjoint of
// im2col. Overlapping windows add in the fixed order of col's rows.
func col2im(dx, col []float32, g convGeom) {
	r := 0
	for ci := range g.c {
		plane := dx[ci*g.h*g.w : (ci+1)*g.h*g.w]
		for i := range g.kh {
			for j := range g.kw {
				src := col[r*g.pixels : (r+1)*g.pixels]
				for oy := range g.ho {
					y := oy*g.sh - g.ph + i
					if y < 0 || y >= g.h {
						continue
					}
					row := src[oy*g.wo : (oy+1)*g.wo]
					dst := plane[y*g.w : (y+1)*g.w]
					for ox, v := range row {
						xx := ox*g.sw - g.pw + j
						if xx >= 0 && xx < g.w {
							dst[xx] += v
						}
					}
				}
				r++
			}
		}
	}
}
