package opstest

import (
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
)

func gapFwd(b ops.Backend, ts []ops.Tensor) { b.GlobalAvgPoolForward(ts[1], ts[0]) }

func gapBwd(add bool) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.GlobalAvgPoolBackward(ts[1], ts[0], add) }
}

func poolShapes(short bool) []ops.Shape {
	shapes := []ops.Shape{{3, 5, 7, 7}, {4, 3, 1, 1}, {2, 2, 3, 5}}
	if short {
		return shapes
	}
	return append(shapes, ops.Shape{16, 64, 8, 8})
}

func (s *suite) testGlobalAvgPoolForward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				name: "2x2",
				args: []arg{input("x", f32s(1, 2, 3, 4, -1, 0, 0, 5), 2, 1, 2, 2), output("y", 2, 1)},
				op:   gapFwd,
				want: map[string][]float32{"y": f32s(2.5, 1)},
			},
			{
				name: "1x3",
				args: []arg{input("x", f32s(1, 2, 3, 4, 5, 6), 1, 2, 1, 3), output("y", 1, 2)},
				op:   gapFwd,
				want: map[string][]float32{"y": f32s(2, 5)},
			},
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range poolShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: []arg{input("x", uniform(rng, sh.Len(), -1, 1), sh...), output("y", sh[0], sh[1])},
				op:   gapFwd,
			})
		}
		s.runCases(t, cases)
	})
}

func (s *suite) testGlobalAvgPoolBackward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{{
			name: "2x2", // dy/(H·W) spread over each channel
			args: []arg{input("dy", f32s(4, 8), 1, 2), output("dx", 1, 2, 2, 2)},
			op:   gapBwd(false),
			want: map[string][]float32{"dx": f32s(1, 1, 1, 1, 2, 2, 2, 2)},
		}})
	})
	t.Run("fd", func(t *testing.T) {
		sh := ops.Shape{2, 3, 3, 5}
		rng := newRand()
		x, r := uniform(rng, sh.Len(), -1, 1), uniform(rng, 6, -1, 1)
		dx := exec(t, s.b, []arg{input("dy", r, 2, 3), output("dx", sh...)}, gapBwd(false))[1]
		s.checkGrad(t, "dx", x, dx, hLinear, func(x []float32) (float64, float64) {
			return dot(r, exec(t, s.b, []arg{input("x", x, sh...), output("y", 2, 3)}, gapFwd)[1])
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range poolShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: []arg{input("dy", uniform(rng, sh[0]*sh[1], -1, 1), sh[0], sh[1]), output("dx", sh...)},
				op:   gapBwd(false),
			})
		}
		s.runCases(t, cases)
	})
	t.Run("add", func(t *testing.T) {
		args := []arg{input("dy", uniform(newRand(), 6, -1, 1), 2, 3), output("dx", 2, 3, 3, 5)}
		s.checkAdd(t, args, 1, func(b ops.Backend, ts []ops.Tensor, add bool) { gapBwd(add)(b, ts) })
	})
}
