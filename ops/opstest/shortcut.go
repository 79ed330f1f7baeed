package opstest

import (
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
)

func shortcutA(b ops.Backend, ts []ops.Tensor) { b.ShortcutAForward(ts[1], ts[0]) }

func shortcutABwd(add bool) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.ShortcutABackward(ts[1], ts[0], add) }
}

// shortcutShapes pair x with y: stride 2 with new channels (the CIFAR
// transitions), stride 1 with new channels only, stride 2 with none, an odd
// size (7 → 4: stride ceil(7/4) = 2, as x[:, :, ::2, ::2]) and different
// strides per axis (ops.ShortcutAStrides).
func shortcutShapes(short bool) [][2]ops.Shape {
	shapes := [][2]ops.Shape{
		{{2, 3, 8, 8}, {2, 5, 4, 4}},
		{{2, 3, 4, 4}, {2, 6, 4, 4}},
		{{3, 4, 6, 6}, {3, 4, 3, 3}},
		{{2, 3, 7, 7}, {2, 6, 4, 4}},
		{{1, 2, 7, 6}, {1, 3, 4, 2}},
	}
	if short {
		return shapes
	}
	return append(shapes, [2]ops.Shape{{2, 16, 32, 32}, {2, 32, 16, 16}})
}

func iota32(n int, from float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = from + float32(i)
	}
	return x
}

func (s *suite) testShortcutAForward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				name: "stride2_2to4", // pixel (0,0) of each channel, then two zero channels
				args: []arg{input("x", iota32(8, 1), 1, 2, 2, 2), output("y", 1, 4, 1, 1)},
				op:   shortcutA,
				want: map[string][]float32{"y": f32s(1, 5, 0, 0)},
			},
			{
				name: "stride2_batch2", // pixels (0,0), (0,2), (2,0), (2,2) of x = 0..15 and 16..31
				args: []arg{input("x", iota32(32, 0), 2, 1, 4, 4), output("y", 2, 2, 2, 2)},
				op:   shortcutA,
				want: map[string][]float32{"y": f32s(0, 2, 8, 10, 0, 0, 0, 0, 16, 18, 24, 26, 0, 0, 0, 0)},
			},
			{
				name: "odd_3to2", // stride ceil(3/2) = 2: pixels (0,0), (0,2), (2,0), (2,2) of 0..8
				args: []arg{input("x", iota32(9, 0), 1, 1, 3, 3), output("y", 1, 2, 2, 2)},
				op:   shortcutA,
				want: map[string][]float32{"y": f32s(0, 2, 6, 8, 0, 0, 0, 0)},
			},
			{
				name: "stride1_1to2",
				args: []arg{input("x", f32s(3, 4), 1, 1, 1, 2), output("y", 1, 2, 1, 2)},
				op:   shortcutA,
				want: map[string][]float32{"y": f32s(3, 4, 0, 0)},
			},
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range shortcutShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: fmt.Sprint(sh[0], "_", sh[1]),
				args: []arg{input("x", uniform(rng, sh[0].Len(), -1, 1), sh[0]...), output("y", sh[1]...)},
				op:   shortcutA,
			})
		}
		s.runCases(t, cases)
	})
}

func (s *suite) testShortcutABackward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				name: "stride2_2to4", // the zero channels' gradient goes nowhere
				args: []arg{input("dy", f32s(5, 7, 9, 11), 1, 4, 1, 1), output("dx", 1, 2, 2, 2)},
				op:   shortcutABwd(false),
				want: map[string][]float32{"dx": f32s(5, 0, 0, 0, 7, 0, 0, 0)},
			},
			{
				name: "odd_2to3", // back to pixels (0,0), (0,2), (2,0), (2,2) of the 3x3
				args: []arg{input("dy", f32s(1, 2, 3, 4), 1, 1, 2, 2), output("dx", 1, 1, 3, 3)},
				op:   shortcutABwd(false),
				want: map[string][]float32{"dx": f32s(1, 0, 2, 0, 0, 0, 3, 0, 4)},
			},
			{
				name: "stride2_batch2",
				args: []arg{input("dy", f32s(1, 2, 3, 4, 9, 9, 9, 9, 5, 6, 7, 8, 9, 9, 9, 9), 2, 2, 2, 2), output("dx", 2, 1, 4, 4)},
				op:   shortcutABwd(false),
				want: map[string][]float32{"dx": f32s(
					1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0,
					5, 0, 6, 0, 0, 0, 0, 0, 7, 0, 8, 0, 0, 0, 0, 0)},
			},
		})
	})
	t.Run("fd", func(t *testing.T) {
		for _, sh := range shortcutShapes(true) {
			t.Run(fmt.Sprint(sh[0], "_", sh[1]), func(t *testing.T) {
				rng := newRand()
				x, r := uniform(rng, sh[0].Len(), -1, 1), uniform(rng, sh[1].Len(), -1, 1)
				dx := exec(t, s.b, []arg{input("dy", r, sh[1]...), output("dx", sh[0]...)}, shortcutABwd(false))[1]
				s.checkGrad(t, "dx", x, dx, hLinear, func(x []float32) (float64, float64) {
					return dot(r, exec(t, s.b, []arg{input("x", x, sh[0]...), output("y", sh[1]...)}, shortcutA)[1])
				})
			})
		}
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range shortcutShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: fmt.Sprint(sh[0], "_", sh[1]),
				args: []arg{input("dy", uniform(rng, sh[1].Len(), -1, 1), sh[1]...), output("dx", sh[0]...)},
				op:   shortcutABwd(false),
			})
		}
		s.runCases(t, cases)
	})
	t.Run("add", func(t *testing.T) {
		sh := shortcutShapes(true)[0]
		args := []arg{input("dy", uniform(newRand(), sh[1].Len(), -1, 1), sh[1]...), output("dx", sh[0]...)}
		s.checkAdd(t, args, 1, func(b ops.Backend, ts []ops.Tensor, add bool) { shortcutABwd(add)(b, ts) })
	})
}
