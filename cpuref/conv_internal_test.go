package cpuref

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/ops"
)

// randTensor allocates a tensor of the given shape on b and fills it with N(0, 1).
func randTensor(t testing.TB, b *Backend, r *rand.Rand, shape ...int) ops.Tensor {
	t.Helper()
	x, err := b.Alloc(shape...)
	if err != nil {
		t.Fatal(err)
	}
	b.CopyIn(x, randSlice(r, ops.Shape(shape).Len()))
	return x
}

// naiveConv is the direct 7-loop convolution in float64: y = x ⋆ w, and the
// gradients dx = ∂⟨dy, y⟩/∂x and dw = ∂⟨dy, y⟩/∂w from the same loops.
func naiveConv(x, w, dy []float64, xs, ws ops.Shape, p ops.ConvParams) (y, dx, dw []float64) {
	n, c, h, wd := xs.NCHW()
	k, _, kh, kw := ws.NCHW()
	ho := (h+2*p.PadH-kh)/p.StrideH + 1
	wo := (wd+2*p.PadW-kw)/p.StrideW + 1
	y = make([]float64, n*k*ho*wo)
	dx = make([]float64, len(x))
	dw = make([]float64, len(w))
	for s := range n {
		for o := range k {
			for oy := range ho {
				for ox := range wo {
					yi := ((s*k+o)*ho+oy)*wo + ox
					for ci := range c {
						for i := range kh {
							for j := range kw {
								iy, ix := oy*p.StrideH-p.PadH+i, ox*p.StrideW-p.PadW+j
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								xi := ((s*c+ci)*h+iy)*wd + ix
								wi := ((o*c+ci)*kh+i)*kw + j
								y[yi] += x[xi] * w[wi]
								dx[xi] += dy[yi] * w[wi]
								dw[wi] += dy[yi] * x[xi]
							}
						}
					}
				}
			}
		}
	}
	return y, dx, dw
}

func to64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

// assertClose fails unless |got−want| <= tol·(1+|want|) everywhere.
func assertClose(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*(1+math.Abs(want[i]))) {
			t.Fatalf("%s[%d] = %v, want %v (|diff| %.3g)", name, i, got[i], want[i], d)
		}
	}
}

type convCase struct {
	n, c, h, w, k, kh, kw int
	p                     ops.ConvParams
}

func (tc convCase) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_k%d_%dx%d_s%d,%d_p%d,%d", tc.n, tc.c, tc.h, tc.w, tc.k, tc.kh, tc.kw,
		tc.p.StrideH, tc.p.StrideW, tc.p.PadH, tc.p.PadW)
}

var convCases = []convCase{
	{2, 3, 8, 8, 4, 3, 3, ops.Conv(1, 1)},
	{3, 5, 7, 9, 6, 3, 3, ops.Conv(2, 1)},
	{2, 4, 9, 7, 5, 1, 1, ops.Conv(1, 0)}, // the direct path: no im2col
	{2, 4, 9, 7, 7, 1, 1, ops.Conv(2, 0)}, // projection shortcut
	{1, 2, 5, 5, 3, 3, 3, ops.Conv(1, 0)},
	{5, 3, 6, 11, 2, 3, 1, ops.ConvParams{StrideH: 1, StrideW: 3, PadH: 2, PadW: 0}},
	{2, 17, 12, 12, 9, 3, 3, ops.Conv(3, 2)},
	{3, 40, 6, 6, 33, 3, 3, ops.Conv(1, 1)}, // c·kh·kw = 360 spans several k blocks
	// col2im matrices of at least flipMinBytes: backward data by the flipped kernel
	{2, 16, 32, 32, 16, 3, 3, ops.Conv(1, 1)}, // CIFAR stage 1
	{1, 16, 24, 40, 7, 3, 3, ops.Conv(1, 1)},  // not square, odd k
}

// TestConvAgainstNaive checks the three convolution ops against naiveConv,
// with dx both overwritten (from NaN) and added to.
func TestConvAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, threads := range []int{1, 3} {
		for _, tc := range convCases {
			t.Run(fmt.Sprintf("threads%d/%v", threads, tc), func(t *testing.T) {
				b := New(threads)
				x := randTensor(t, b, r, tc.n, tc.c, tc.h, tc.w)
				w := randTensor(t, b, r, tc.k, tc.c, tc.kh, tc.kw)
				ys := tc.p.OutputShape(x.Shape(), w.Shape())
				dy := randTensor(t, b, r, ys...)
				y, _ := b.Alloc(ys...)
				dx, _ := b.Alloc(x.Shape()...)
				dw, _ := b.Alloc(w.Shape()...)
				b.Fill(y, float32(math.NaN()))
				b.Fill(dx, float32(math.NaN()))
				b.Fill(dw, float32(math.NaN()))
				xd, wd, dyd := to64(b.Data(x)), to64(b.Data(w)), to64(b.Data(dy))
				wantY, wantDx, wantDw := naiveConv(xd, wd, dyd, x.Shape(), w.Shape(), tc.p)

				b.ConvForward(y, x, w, tc.p)
				assertClose(t, "y", b.Data(y), wantY, 1e-4)
				b.ConvBackwardData(dx, dy, w, tc.p, false)
				assertClose(t, "dx", b.Data(dx), wantDx, 1e-4)
				b.ConvBackwardFilter(dw, dy, x, tc.p)
				assertClose(t, "dw", b.Data(dw), wantDw, 1e-4)

				for i := range wantDx {
					wantDx[i] *= 2
				}
				b.ConvBackwardData(dx, dy, w, tc.p, true)
				assertClose(t, "dx added", b.Data(dx), wantDx, 1e-4)

				for name, in := range map[string][]float64{"x": xd, "w": wd, "dy": dyd} {
					got := map[string]ops.Tensor{"x": x, "w": w, "dy": dy}[name]
					for i, v := range b.Data(got) {
						if float64(v) != in[i] {
							t.Fatalf("input %s changed at %d", name, i)
						}
					}
				}
			})
		}
	}
}

// runConv runs the three convolution ops on fresh tensors of a seeded case
// and returns their outputs.
func runConv(t *testing.T, threads int, tc convCase) (y, dx, dw []float32) {
	r := rand.New(rand.NewPCG(1, 2))
	b := New(threads)
	x := randTensor(t, b, r, tc.n, tc.c, tc.h, tc.w)
	w := randTensor(t, b, r, tc.k, tc.c, tc.kh, tc.kw)
	ys := tc.p.OutputShape(x.Shape(), w.Shape())
	dy := randTensor(t, b, r, ys...)
	yt, _ := b.Alloc(ys...)
	dxt, _ := b.Alloc(x.Shape()...)
	dwt, _ := b.Alloc(w.Shape()...)
	b.ConvForward(yt, x, w, tc.p)
	b.ConvBackwardData(dxt, dy, w, tc.p, false)
	b.ConvBackwardFilter(dwt, dy, x, tc.p)
	return b.Data(yt), b.Data(dxt), b.Data(dwt)
}

// TestConvDeterministic checks that the convolutions give bitwise equal
// results run to run, and for 1, 2 and 4 threads: each output element is
// summed in an order fixed by the shapes alone.
func TestConvDeterministic(t *testing.T) {
	tc := convCase{8, 16, 16, 16, 32, 3, 3, ops.Conv(1, 1)}
	y1, dx1, dw1 := runConv(t, 1, tc)
	for _, threads := range []int{1, 2, 4} {
		y, dx, dw := runConv(t, threads, tc)
		for name, pair := range map[string][2][]float32{"y": {y1, y}, "dx": {dx1, dx}, "dw": {dw1, dw}} {
			for i := range pair[0] {
				if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
					t.Fatalf("threads %d: %s[%d] = %v, with 1 thread %v", threads, name, i, pair[1][i], pair[0][i])
				}
			}
		}
	}
}

// BenchmarkConv times the three convolution ops at CIFAR stage 1 of a
// ResNet: n 128, 16→16 channels, 32×32, 3×3 kernel, padding 1.
func BenchmarkConv(b *testing.B) {
	const flops = 2.0 * 128 * 16 * 32 * 32 * 16 * 9
	for _, op := range []string{"Forward", "BackwardData", "BackwardFilter"} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads%d", op, threads), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				be := New(threads)
				x := randTensor(b, be, r, 128, 16, 32, 32)
				w := randTensor(b, be, r, 16, 16, 3, 3)
				y := randTensor(b, be, r, 128, 16, 32, 32)
				p := ops.Conv(1, 1)
				for b.Loop() {
					switch op {
					case "Forward":
						be.ConvForward(y, x, w, p)
					case "BackwardData":
						be.ConvBackwardData(x, y, w, p, false)
					case "BackwardFilter":
						be.ConvBackwardFilter(w, y, x, p)
					}
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(128*float64(b.N)/b.Elapsed().Seconds(), "img/s")
			})
		}
	}
}
