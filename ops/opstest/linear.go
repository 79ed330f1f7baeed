package opstest

import (
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
)

func linearFwd(b ops.Backend, ts []ops.Tensor) { b.LinearForward(ts[2], ts[0], ts[1]) }

func linearData(add bool) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.LinearBackwardData(ts[2], ts[0], ts[1], add) }
}

func linearWeight(b ops.Backend, ts []ops.Tensor) { b.LinearBackwardWeight(ts[2], ts[0], ts[1]) }

// linearShape is x (n,in) · wᵀ, w (out,in).
type linearShape struct{ n, in, out int }

func (l linearShape) String() string { return fmt.Sprintf("n%d_in%d_out%d", l.n, l.in, l.out) }

func linearShapes(short bool) []linearShape {
	shapes := []linearShape{{3, 5, 7}, {1, 1, 1}, {8, 64, 10}}
	if short {
		return shapes
	}
	return append(shapes, linearShape{33, 64, 100})
}

// Hand case: x = (1 2 3; 4 5 6), w = (1 0 −1; ½ ½ ½), dy = (1 2; 3 4).
var (
	linX  = f32s(1, 2, 3, 4, 5, 6)
	linW  = f32s(1, 0, -1, 0.5, 0.5, 0.5)
	linDY = f32s(1, 2, 3, 4)
)

func (s *suite) testLinearForward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{{
			name: "2x3_to_2", // y = (1−3, 3; 4−6, 7.5)
			args: []arg{input("x", linX, 2, 3), weightIn(linW, 2, 3), logitsOut(2, 2)},
			op:   linearFwd,
			want: map[string][]float32{"y": f32s(-2, 3, -2, 7.5)},
		}})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, l := range linearShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: l.String(),
				args: []arg{
					input("x", uniform(rng, l.n*l.in, -1, 1), l.n, l.in),
					weightIn(uniform(rng, l.out*l.in, -1, 1), l.out, l.in),
					logitsOut(l.n, l.out),
				},
				op: linearFwd,
			})
		}
		s.runCases(t, cases)
	})
}

func (s *suite) testLinearBackwardData(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{{
			name: "2x3_to_2", // dx rows: 1·w0 + 2·w1, 3·w0 + 4·w1
			args: []arg{input("dy", linDY, 2, 2), weightIn(linW, 2, 3), output("dx", 2, 3)},
			op:   linearData(false),
			want: map[string][]float32{"dx": f32s(2, 1, 0, 5, 2, -1)},
		}})
	})
	t.Run("fd", func(t *testing.T) {
		l := linearShape{3, 5, 4}
		rng := newRand()
		x, w, r := uniform(rng, l.n*l.in, -1, 1), uniform(rng, l.out*l.in, -1, 1), uniform(rng, l.n*l.out, -1, 1)
		dx := exec(t, s.b, []arg{input("dy", r, l.n, l.out), weightIn(w, l.out, l.in), output("dx", l.n, l.in)}, linearData(false))[2]
		s.checkGrad(t, "dx", x, dx, hLinear, func(x []float32) (float64, float64) {
			return dot(r, exec(t, s.b, []arg{input("x", x, l.n, l.in), weightIn(w, l.out, l.in), logitsOut(l.n, l.out)}, linearFwd)[2])
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, l := range linearShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: l.String(),
				args: []arg{
					input("dy", uniform(rng, l.n*l.out, -1, 1), l.n, l.out),
					weightIn(uniform(rng, l.out*l.in, -1, 1), l.out, l.in),
					output("dx", l.n, l.in),
				},
				op: linearData(false),
			})
		}
		s.runCases(t, cases)
	})
	t.Run("add", func(t *testing.T) {
		rng := newRand()
		args := []arg{input("dy", uniform(rng, 12, -1, 1), 3, 4), weightIn(uniform(rng, 20, -1, 1), 4, 5), output("dx", 3, 5)}
		s.checkAdd(t, args, 2, func(b ops.Backend, ts []ops.Tensor, add bool) { linearData(add)(b, ts) })
	})
}

func (s *suite) testLinearBackwardWeight(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{{
			name: "2x3_to_2", // dw rows: 1·x0 + 3·x1, 2·x0 + 4·x1
			args: []arg{input("dy", linDY, 2, 2), input("x", linX, 2, 3), weightOut(2, 3)},
			op:   linearWeight,
			want: map[string][]float32{"dw": f32s(13, 17, 21, 18, 24, 30)},
		}})
	})
	t.Run("fd", func(t *testing.T) {
		l := linearShape{3, 5, 4}
		rng := newRand()
		x, w, r := uniform(rng, l.n*l.in, -1, 1), uniform(rng, l.out*l.in, -1, 1), uniform(rng, l.n*l.out, -1, 1)
		dw := exec(t, s.b, []arg{input("dy", r, l.n, l.out), input("x", x, l.n, l.in), weightOut(l.out, l.in)}, linearWeight)[2]
		s.checkGrad(t, "dw", w, dw, hLinear, func(w []float32) (float64, float64) {
			return dot(r, exec(t, s.b, []arg{input("x", x, l.n, l.in), weightIn(w, l.out, l.in), logitsOut(l.n, l.out)}, linearFwd)[2])
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, l := range linearShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: l.String(),
				args: []arg{
					input("dy", scaled(uniform(rng, l.n*l.out, -1, 1), invSqrt(l.n)), l.n, l.out),
					input("x", uniform(rng, l.n*l.in, -1, 1), l.n, l.in),
					weightOut(l.out, l.in),
				},
				op: linearWeight,
			})
		}
		s.runCases(t, cases)
	})
}
