package opstest

import (
	"fmt"
	"math"
	"testing"

	"github.com/deepres/deepres/ops"
)

// convShape is one convolution: x (n,c,h,w) ⋆ w (k,c,kh,kw) with params p.
type convShape struct {
	n, c, h, w, k, kh, kw int
	p                     ops.ConvParams
}

func (cs convShape) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_k%d_%dx%d_s%dx%d_p%dx%d",
		cs.n, cs.c, cs.h, cs.w, cs.k, cs.kh, cs.kw, cs.p.StrideH, cs.p.StrideW, cs.p.PadH, cs.p.PadW)
}

func (cs convShape) x() ops.Shape  { return ops.Shape{cs.n, cs.c, cs.h, cs.w} }
func (cs convShape) wt() ops.Shape { return ops.Shape{cs.k, cs.c, cs.kh, cs.kw} }
func (cs convShape) y() ops.Shape  { return cs.p.OutputShape(cs.x(), cs.wt()) }

// convRandomShapes cover odd sizes, strides 1 and 2, kernels 1 and 3, a
// non-square kernel with unequal strides and paddings, and CIFAR-like widths.
func (s *suite) convRandomShapes() []convShape {
	shapes := []convShape{
		{2, 3, 7, 7, 4, 3, 3, ops.Conv(1, 1)},
		{2, 3, 8, 8, 5, 3, 3, ops.Conv(2, 1)},
		{1, 2, 5, 6, 3, 1, 1, ops.Conv(2, 0)},
		{2, 3, 6, 5, 4, 3, 3, ops.Conv(2, 0)},
		{1, 3, 7, 9, 2, 3, 2, ops.ConvParams{StrideH: 1, StrideW: 2, PadH: 0, PadW: 1}},
	}
	if s.o.Short {
		return shapes
	}
	return append(shapes,
		convShape{3, 4, 9, 9, 2, 1, 1, ops.Conv(1, 0)},
		convShape{2, 16, 8, 8, 16, 3, 3, ops.Conv(1, 1)},
		convShape{2, 16, 16, 16, 32, 3, 3, ops.Conv(2, 1)},
		convShape{2, 16, 8, 8, 32, 1, 1, ops.Conv(2, 0)},
	)
}

// convFDShapes are small: each check runs the forward op ten times.
var convFDShapes = []convShape{
	{2, 3, 5, 5, 2, 3, 3, ops.Conv(2, 1)},
	{1, 2, 4, 4, 3, 1, 1, ops.Conv(1, 0)},
	{1, 2, 5, 4, 2, 3, 2, ops.ConvParams{StrideH: 2, StrideW: 1, PadH: 1, PadW: 0}},
}

// The hand cases share one 3x3 image and kernel, stride 2, padding 1:
//
//	x = 1 2 3   w = 1 2  0   padded windows at outputs (0,0) (0,1) (1,0) (1,1):
//	    4 5 6       0 1  0   0 0 0  0 0 0  0 4 5  5 6 0
//	    7 8 9       0 0 -1   0 1 2  2 3 0  0 7 8  8 9 0
//	                         0 4 5  5 6 0  0 0 0  0 0 0
//
// so y = (0+0+1−5, 0+0+3−0, 8+7−0, 5+12+9−0) = (−4, 3, 15, 26).
var (
	handX  = f32s(1, 2, 3, 4, 5, 6, 7, 8, 9)
	handW  = f32s(1, 2, 0, 0, 1, 0, 0, 0, -1)
	handDY = f32s(1, 2, 3, 4)
	// A 1x1 conv mixing two channels: y0 = x0 + x1/2, y1 = −x0 + 2·x1.
	mixX = f32s(1, 2, 3, 4, 5, 6, 7, 8)
	mixW = f32s(1, 0.5, -1, 2)
	// A 1x2 kernel (1, 10), stride 1x2, padding 0x1, over x = (1 2 3; 4 5 6):
	// y = (1·0+10·1, 1·2+10·3; 1·0+10·4, 1·5+10·6) = (10, 32; 40, 65).
	rectX = f32s(1, 2, 3, 4, 5, 6)
	rectW = f32s(1, 10)
	rectP = ops.ConvParams{StrideH: 1, StrideW: 2, PadH: 0, PadW: 1}
)

func convFwd(p ops.ConvParams) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.ConvForward(ts[2], ts[0], ts[1], p) }
}

func convData(p ops.ConvParams, add bool) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.ConvBackwardData(ts[2], ts[0], ts[1], p, add) }
}

func convFilter(p ops.ConvParams) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.ConvBackwardFilter(ts[2], ts[0], ts[1], p) }
}

func (s *suite) testConvForward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				name: "3x3_stride2_pad1_batch2", // the second image is −x, so its output is −y
				args: []arg{input("x", append(clone(handX), scaled(handX, -1)...), 2, 1, 3, 3), weightIn(handW, 1, 1, 3, 3), output("y", 2, 1, 2, 2)},
				op:   convFwd(ops.Conv(2, 1)),
				want: map[string][]float32{"y": f32s(-4, 3, 15, 26, 4, -3, -15, -26)},
			},
			{
				name: "1x1_two_channels",
				args: []arg{input("x", mixX, 1, 2, 2, 2), weightIn(mixW, 2, 2, 1, 1), output("y", 1, 2, 2, 2)},
				op:   convFwd(ops.Conv(1, 0)),
				want: map[string][]float32{"y": f32s(3.5, 5, 6.5, 8, 9, 10, 11, 12)},
			},
			{
				name: "1x2_stride1x2_pad0x1",
				args: []arg{input("x", rectX, 1, 1, 2, 3), weightIn(rectW, 1, 1, 1, 2), output("y", 1, 1, 2, 2)},
				op:   convFwd(rectP),
				want: map[string][]float32{"y": f32s(10, 32, 40, 65)},
			},
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, cs := range s.convRandomShapes() {
			x, w, y := cs.x(), cs.wt(), cs.y()
			cases = append(cases, opCase{
				name: cs.String(),
				args: []arg{
					input("x", uniform(rng, x.Len(), -1, 1), x...),
					weightIn(scaled(uniform(rng, w.Len(), -1, 1), invSqrt(cs.c*cs.kh*cs.kw)), w...),
					output("y", y...),
				},
				op: convFwd(cs.p),
			})
		}
		s.runCases(t, cases)
	})
}

func (s *suite) testConvBackwardData(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				// dx gathers w·dy over the outputs each pixel fed:
				// (0,0)=1·1; (0,2)=1·2; (1,0)=2·3; (1,1)=−1·1+1·4; (1,2)=2·4; (2,0)=1·3; (2,2)=1·4.
				name: "3x3_stride2_pad1",
				args: []arg{input("dy", handDY, 1, 1, 2, 2), weightIn(handW, 1, 1, 3, 3), output("dx", 1, 1, 3, 3)},
				op:   convData(ops.Conv(2, 1), false),
				want: map[string][]float32{"dx": f32s(1, 0, 2, 6, 3, 8, 3, 0, 4)},
			},
			{
				// dx0 = dy0 − dy1, dx1 = dy0/2 + 2·dy1 with dy = (1..4; 5..8).
				name: "1x1_two_channels",
				args: []arg{input("dy", mixX, 1, 2, 2, 2), weightIn(mixW, 2, 2, 1, 1), output("dx", 1, 2, 2, 2)},
				op:   convData(ops.Conv(1, 0), false),
				want: map[string][]float32{"dx": f32s(-4, -4, -4, -4, 10.5, 13, 15.5, 18)},
			},
			{
				// Each x feeds one output: x00 by 10·dy00, x01 by 1·dy01, x02 by 10·dy01, …
				name: "1x2_stride1x2_pad0x1",
				args: []arg{input("dy", handDY, 1, 1, 2, 2), weightIn(rectW, 1, 1, 1, 2), output("dx", 1, 1, 2, 3)},
				op:   convData(rectP, false),
				want: map[string][]float32{"dx": f32s(10, 2, 20, 30, 4, 40)},
			},
		})
	})
	t.Run("fd", func(t *testing.T) {
		for _, cs := range convFDShapes {
			t.Run(cs.String(), func(t *testing.T) {
				rng := newRand()
				x, w, r := uniform(rng, cs.x().Len(), -1, 1), uniform(rng, cs.wt().Len(), -1, 1), uniform(rng, cs.y().Len(), -1, 1)
				dx := exec(t, s.b, []arg{input("dy", r, cs.y()...), weightIn(w, cs.wt()...), output("dx", cs.x()...)}, convData(cs.p, false))[2]
				s.checkGrad(t, "dx", x, dx, hLinear, func(x []float32) (float64, float64) {
					y := exec(t, s.b, []arg{input("x", x, cs.x()...), weightIn(w, cs.wt()...), output("y", cs.y()...)}, convFwd(cs.p))[2]
					return dot(r, y)
				})
			})
		}
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, cs := range s.convRandomShapes() {
			x, w, y := cs.x(), cs.wt(), cs.y()
			cases = append(cases, opCase{
				name: cs.String(),
				args: []arg{
					input("dy", uniform(rng, y.Len(), -1, 1), y...),
					weightIn(scaled(uniform(rng, w.Len(), -1, 1), invSqrt(cs.k*cs.kh*cs.kw)), w...),
					output("dx", x...),
				},
				op: convData(cs.p, false),
			})
		}
		s.runCases(t, cases)
	})
	t.Run("add", func(t *testing.T) {
		cs := convFDShapes[0]
		rng := newRand()
		args := []arg{input("dy", uniform(rng, cs.y().Len(), -1, 1), cs.y()...), weightIn(uniform(rng, cs.wt().Len(), -1, 1), cs.wt()...), output("dx", cs.x()...)}
		s.checkAdd(t, args, 2, func(b ops.Backend, ts []ops.Tensor, add bool) { convData(cs.p, add)(b, ts) })
	})
}

func (s *suite) testConvBackwardFilter(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				// dw = 1·W00 + 2·W01 + 3·W10 + 4·W11 over the windows drawn above.
				name: "3x3_stride2_pad1",
				args: []arg{input("dy", handDY, 1, 1, 2, 2), input("x", handX, 1, 1, 3, 3), weightOut(1, 1, 3, 3)},
				op:   convFilter(ops.Conv(2, 1)),
				want: map[string][]float32{"dw": f32s(20, 36, 15, 36, 64, 26, 10, 16, 5)},
			},
			{
				// dw[k][c] = Σ dyk·xc with dy = x = (1..4; 5..8): 30, 70, 70, 174.
				name: "1x1_two_channels",
				args: []arg{input("dy", mixX, 1, 2, 2, 2), input("x", mixX, 1, 2, 2, 2), weightOut(2, 2, 1, 1)},
				op:   convFilter(ops.Conv(1, 0)),
				want: map[string][]float32{"dw": f32s(30, 70, 70, 174)},
			},
			{
				// dw0 = 1·0 + 2·2 + 3·0 + 4·5, dw1 = 1·1 + 2·3 + 3·4 + 4·6.
				name: "1x2_stride1x2_pad0x1",
				args: []arg{input("dy", handDY, 1, 1, 2, 2), input("x", rectX, 1, 1, 2, 3), weightOut(1, 1, 1, 2)},
				op:   convFilter(rectP),
				want: map[string][]float32{"dw": f32s(24, 43)},
			},
		})
	})
	t.Run("fd", func(t *testing.T) {
		for _, cs := range convFDShapes {
			t.Run(cs.String(), func(t *testing.T) {
				rng := newRand()
				x, w, r := uniform(rng, cs.x().Len(), -1, 1), uniform(rng, cs.wt().Len(), -1, 1), uniform(rng, cs.y().Len(), -1, 1)
				dw := exec(t, s.b, []arg{input("dy", r, cs.y()...), input("x", x, cs.x()...), weightOut(cs.wt()...)}, convFilter(cs.p))[2]
				s.checkGrad(t, "dw", w, dw, hLinear, func(w []float32) (float64, float64) {
					y := exec(t, s.b, []arg{input("x", x, cs.x()...), weightIn(w, cs.wt()...), output("y", cs.y()...)}, convFwd(cs.p))[2]
					return dot(r, y)
				})
			})
		}
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, cs := range s.convRandomShapes() {
			x, w, y := cs.x(), cs.wt(), cs.y()
			// dy is scaled so that dw, a sum over n·ho·wo products, stays O(1).
			cases = append(cases, opCase{
				name: cs.String(),
				args: []arg{
					input("dy", scaled(uniform(rng, y.Len(), -1, 1), invSqrt(y[0]*y[2]*y[3])), y...),
					input("x", uniform(rng, x.Len(), -1, 1), x...),
					weightOut(w...),
				},
				op: convFilter(cs.p),
			})
		}
		s.runCases(t, cases)
	})
}

func invSqrt(n int) float32 { return float32(1 / math.Sqrt(float64(n))) }
