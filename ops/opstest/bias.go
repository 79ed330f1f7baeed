package opstest

import (
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
)

func addBias(b ops.Backend, ts []ops.Tensor)      { b.AddBias(ts[1], ts[0]) }
func biasBackward(b ops.Backend, ts []ops.Tensor) { b.BiasBackward(ts[1], ts[0]) }

// biasShapes are the (N,C,H,W) and (N,C) layouts AddBias accepts.
func biasShapes(short bool) []ops.Shape {
	shapes := []ops.Shape{{2, 3, 5, 7}, {5, 10}, {1, 1, 1, 1}}
	if short {
		return shapes
	}
	return append(shapes, ops.Shape{4, 64, 8, 8}, ops.Shape{33, 100})
}

func (s *suite) testAddBias(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				name: "NCHW",
				args: []arg{input("b", f32s(10, 20), 2), update("y", f32s(1, 2, 3, 4, 5, 6, 7, 8), 2, 2, 1, 2)},
				op:   addBias,
				want: map[string][]float32{"y": f32s(11, 12, 23, 24, 15, 16, 27, 28)},
			},
			{
				name: "NC",
				args: []arg{input("b", f32s(1, 2, 3), 3), update("y", f32s(0, 0, 0, 1, 1, 1), 2, 3)},
				op:   addBias,
				want: map[string][]float32{"y": f32s(1, 2, 3, 2, 3, 4)},
			},
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range biasShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: []arg{input("b", uniform(rng, sh[1], -1, 1), sh[1]), update("y", uniform(rng, sh.Len(), -1, 1), sh...)},
				op:   addBias,
			})
		}
		s.runCases(t, cases)
	})
}

func (s *suite) testBiasBackward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				name: "NCHW", // channel 0 holds 1, 2, 5, 6; channel 1 holds 3, 4, 7, 8
				args: []arg{input("dy", f32s(1, 2, 3, 4, 5, 6, 7, 8), 2, 2, 1, 2), output("db", 2)},
				op:   biasBackward,
				want: map[string][]float32{"db": f32s(14, 22)},
			},
			{
				name: "NC",
				args: []arg{input("dy", f32s(1, 2, 3, 4, 5, 6), 2, 3), output("db", 3)},
				op:   biasBackward,
				want: map[string][]float32{"db": f32s(5, 7, 9)},
			},
		})
	})
	t.Run("fd", func(t *testing.T) {
		for _, sh := range []ops.Shape{{2, 3, 2, 3}, {4, 5}} {
			t.Run(fmt.Sprint(sh), func(t *testing.T) {
				rng := newRand()
				y0, bias, r := uniform(rng, sh.Len(), -1, 1), uniform(rng, sh[1], -1, 1), uniform(rng, sh.Len(), -1, 1)
				db := exec(t, s.b, []arg{input("dy", r, sh...), output("db", sh[1])}, biasBackward)[1]
				s.checkGrad(t, "db", bias, db, hLinear, func(bias []float32) (float64, float64) {
					return dot(r, exec(t, s.b, []arg{input("b", bias, sh[1]), update("y", y0, sh...)}, addBias)[1])
				})
			})
		}
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range biasShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: []arg{input("dy", uniform(rng, sh.Len(), -1, 1), sh...), output("db", sh[1])},
				op:   biasBackward,
			})
		}
		s.runCases(t, cases)
	})
}
