package cpuref

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// im2colRef and col2imRef are the plain per-element loops that im2col and
// col2im replace; the fast versions must match them bit for bit.
func im2colRef(col, x []float32, g convGeom) {
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

func col2imRef(dx, col []float32, g convGeom) {
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

func newGeom(c, h, w, kh, kw, sh, sw, ph, pw int) (convGeom, bool) {
	if h+2*ph < kh || w+2*pw < kw {
		return convGeom{}, false
	}
	ho := (h+2*ph-kh)/sh + 1
	wo := (w+2*pw-kw)/sw + 1
	return convGeom{c: c, h: h, w: w, kh: kh, kw: kw, ho: ho, wo: wo, sh: sh, sw: sw, ph: ph, pw: pw,
		rows: c * kh * kw, pixels: ho * wo}, true
}

// im2colGeoms lists geometries that hit the specialised paths (3×3 stride 1
// padding 1, stride-1 segment copies, 1×1) and ones that don't (strides 2–3,
// padding wider than the kernel, kernels wider than the input, odd sizes).
func im2colGeoms() []convGeom {
	var gs []convGeom
	add := func(c, h, w, kh, kw, sh, sw, ph, pw int) {
		if g, ok := newGeom(c, h, w, kh, kw, sh, sw, ph, pw); ok {
			gs = append(gs, g)
		}
	}
	// 3×3 stride 1 padding 1, incl. degenerate widths and heights.
	for _, hw := range [][2]int{{1, 1}, {1, 2}, {2, 1}, {2, 2}, {3, 3}, {5, 7}, {8, 8}, {32, 32}, {7, 1}, {1, 9}} {
		add(3, hw[0], hw[1], 3, 3, 1, 1, 1, 1)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range 400 {
		add(1+r.IntN(3), 1+r.IntN(9), 1+r.IntN(9), 1+r.IntN(4), 1+r.IntN(4),
			1+r.IntN(3), 1+r.IntN(3), r.IntN(4), r.IntN(4))
	}
	add(4, 9, 7, 1, 1, 2, 2, 0, 0)  // projection shortcut
	add(2, 6, 11, 3, 1, 1, 3, 2, 0) // 3×1, mixed strides
	add(17, 12, 12, 3, 3, 3, 3, 2, 2)
	add(2, 3, 3, 3, 3, 1, 1, 3, 3) // whole rows of padding
	// Stride 1, output as wide as the input: the block-copy path.
	add(2, 6, 5, 5, 5, 1, 1, 2, 2)
	add(2, 4, 5, 1, 3, 1, 1, 2, 1) // ho > h
	add(2, 6, 5, 3, 1, 1, 1, 0, 0) // ho < h
	add(1, 2, 2, 5, 5, 1, 1, 1, 2)
	return gs
}

func TestIm2colMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, g := range im2colGeoms() {
		name := fmt.Sprintf("%+v", g)
		x := randSlice(r, g.c*g.h*g.w)
		want := make([]float32, g.rows*g.pixels)
		got := make([]float32, g.rows*g.pixels)
		for i := range got {
			want[i], got[i] = float32(math.NaN()), float32(math.NaN())
		}
		im2colRef(want, x, g)
		im2col(got, x, g)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: col[%d] = %v, want %v", name, i, got[i], want[i])
			}
		}

		col := randSlice(r, g.rows*g.pixels)
		dx0 := randSlice(r, g.c*g.h*g.w)
		wantDx := append([]float32(nil), dx0...)
		gotDx := append([]float32(nil), dx0...)
		col2imRef(wantDx, col, g)
		col2im(gotDx, col, g)
		for i := range wantDx {
			if math.Float32bits(gotDx[i]) != math.Float32bits(wantDx[i]) {
				t.Fatalf("%s: dx[%d] = %v, want %v", name, i, gotDx[i], wantDx[i])
			}
		}
	}
}

// TestIm2colPaths checks that the test geometries reach each path.
func TestIm2colPaths(t *testing.T) {
	var same, block, other, strided int
	for _, g := range im2colGeoms() {
		switch {
		case g.same3x3():
			same++
		case g.sh == 1 && g.sw == 1 && g.wo == g.w:
			block++
		case g.sw > 1:
			strided++
		default:
			other++
		}
	}
	if same < 5 || block < 5 || other < 20 || strided < 20 {
		t.Fatalf("paths hit: 3x3 %d, other same-width %d, other stride 1 %d, strided %d", same, block, other, strided)
	}
	t.Logf("paths hit: 3x3 %d, other same-width %d, other stride 1 %d, strided %d", same, block, other, strided)
}

// BenchmarkIm2col times im2col and col2im, and the plain reference loops, on
// one sample of each ResNet stage's 3×3 convolution and its strided 3×3 and
// 1×1 projection.
func BenchmarkIm2col(b *testing.B) {
	type geomCase struct {
		name string
		g    convGeom
	}
	var cases []geomCase
	for _, s := range []struct{ c, hw, k, st, p int }{
		{16, 32, 3, 1, 1}, {32, 16, 3, 1, 1}, {64, 8, 3, 1, 1}, {16, 32, 3, 2, 1}, {16, 32, 1, 2, 0},
	} {
		g, _ := newGeom(s.c, s.hw, s.hw, s.k, s.k, s.st, s.st, s.p, s.p)
		cases = append(cases, geomCase{fmt.Sprintf("c%d_h%d_k%d_s%d", s.c, s.hw, s.k, s.st), g})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		g := tc.g
		x := randSlice(r, g.c*g.h*g.w)
		col := randSlice(r, g.rows*g.pixels)
		for _, impl := range []struct {
			name     string
			im2, col func([]float32, []float32, convGeom)
		}{{"fast", im2col, col2im}, {"ref", im2colRef, col2imRef}} {
			b.Run("im2col/"+tc.name+"/"+impl.name, func(b *testing.B) {
				for b.Loop() {
					impl.im2(col, x, g)
				}
			})
			b.Run("col2im/"+tc.name+"/"+impl.name, func(b *testing.B) {
				for b.Loop() {
					impl.col(x, col, g)
				}
			})
		}
	}
}
