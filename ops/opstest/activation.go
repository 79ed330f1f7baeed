package opstest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/ops"
)

// elementwiseShapes include a single element, odd sizes and ranks 2 and 4.
func elementwiseShapes(short bool) []ops.Shape {
	shapes := []ops.Shape{{1, 1, 1, 1}, {2, 3, 5, 7}, {3, 17}}
	if short {
		return shapes
	}
	return append(shapes, ops.Shape{4, 64, 8, 8})
}

func reluFwd(b ops.Backend, ts []ops.Tensor) { b.ReLUForward(ts[1], ts[0]) }

func reluBwd(add bool) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.ReLUBackward(ts[2], ts[0], ts[1], add) }
}

func sigmoidFwd(b ops.Backend, ts []ops.Tensor) { b.SigmoidForward(ts[1], ts[0]) }

func sigmoidBwd(add bool) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.SigmoidBackward(ts[2], ts[0], ts[1], add) }
}

func relu(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = max(v, 0)
	}
	return y
}

func sigmoid(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return y
}

// unaryAlias checks that fwd (x in ts[0], y in ts[1]) gives the same y when
// it writes over x.
func (s *suite) unaryAlias(t *testing.T, x []float32, fwd func(b ops.Backend, y, x ops.Tensor)) {
	n := len(x)
	want := exec(t, s.b, []arg{input("x", x, n), output("y", n)}, func(b ops.Backend, ts []ops.Tensor) { fwd(b, ts[1], ts[0]) })[1]
	got := exec(t, s.b, []arg{update("x", x, n)}, func(b ops.Backend, ts []ops.Tensor) { fwd(b, ts[0], ts[0]) })[0]
	requireClose(t, "y (written over x)", got, want, s.o.Atol, s.o.Rtol)
}

func (s *suite) testReLUForward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{{
			name: "signs",
			args: []arg{input("x", f32s(-1, 0, 2, -0.5, 3, 0.25), 1, 6), output("y", 1, 6)},
			op:   reluFwd,
			want: map[string][]float32{"y": f32s(0, 0, 2, 0, 3, 0.25)},
		}})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range elementwiseShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: []arg{input("x", uniform(rng, sh.Len(), -1, 1), sh...), output("y", sh...)},
				op:   reluFwd,
			})
		}
		s.runCases(t, cases)
	})
	t.Run("alias", func(t *testing.T) {
		s.unaryAlias(t, uniform(newRand(), 101, -1, 1), func(b ops.Backend, y, x ops.Tensor) { b.ReLUForward(y, x) })
	})
}

func (s *suite) testReLUBackward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{{
			name: "signs",
			args: []arg{input("dy", f32s(1, 2, 3, 4, 5, 6), 6), input("y", f32s(0, 0, 2, 0, 3, 0.25), 6), output("dx", 6)},
			op:   reluBwd(false),
			want: map[string][]float32{"dx": f32s(0, 0, 3, 0, 5, 6)},
		}})
	})
	s.activationBackward(t, reluFwd, reluBwd,
		func(rng *rand.Rand, n int) []float32 { return awayFromZero(rng, n, 0.1) },
		func(rng *rand.Rand, n int) []float32 { return relu(uniform(rng, n, -1, 1)) })
}

func (s *suite) testSigmoidForward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		// sigmoid(±ln 3) = 3/4, 1/4; at ±20 the result must neither overflow nor lose its sign.
		ln3 := math.Log(3)
		s.runCases(t, []opCase{{
			name: "known",
			args: []arg{input("x", f32s(0, ln3, -ln3, 20, -20), 5), output("y", 5)},
			op:   sigmoidFwd,
			want: map[string][]float32{"y": f32s(0.5, 0.75, 0.25, 1/(1+math.Exp(-20)), math.Exp(-20)/(1+math.Exp(-20)))},
		}})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range elementwiseShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: []arg{input("x", uniform(rng, sh.Len(), -6, 6), sh...), output("y", sh...)},
				op:   sigmoidFwd,
			})
		}
		s.runCases(t, cases)
	})
	t.Run("alias", func(t *testing.T) {
		s.unaryAlias(t, uniform(newRand(), 101, -6, 6), func(b ops.Backend, y, x ops.Tensor) { b.SigmoidForward(y, x) })
	})
}

func (s *suite) testSigmoidBackward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		// dy·y·(1−y): 4·½·½, 4·¾·¼, 4·¼·¾.
		s.runCases(t, []opCase{{
			name: "known",
			args: []arg{input("dy", f32s(4, 4, 4), 3), input("y", f32s(0.5, 0.75, 0.25), 3), output("dx", 3)},
			op:   sigmoidBwd(false),
			want: map[string][]float32{"dx": f32s(1, 0.75, 0.75)},
		}})
	})
	s.activationBackward(t, sigmoidFwd, sigmoidBwd,
		func(rng *rand.Rand, n int) []float32 { return uniform(rng, n, -3, 3) },
		func(rng *rand.Rand, n int) []float32 { return sigmoid(uniform(rng, n, -6, 6)) })
}

// activationBackward runs the finite-difference, random and add checks of an
// activation's backward op. inputX draws forward inputs for the
// finite-difference check (ReLU's away from its kink); outputY draws valid
// forward outputs for the random and add cases.
func (s *suite) activationBackward(t *testing.T, fwd func(ops.Backend, []ops.Tensor), bwd func(add bool) func(ops.Backend, []ops.Tensor),
	inputX, outputY func(rng *rand.Rand, n int) []float32) {
	t.Run("fd", func(t *testing.T) {
		rng := newRand()
		sh := ops.Shape{2, 3, 4, 5}
		x := inputX(rng, sh.Len())
		r := uniform(rng, sh.Len(), -1, 1)
		y := exec(t, s.b, []arg{input("x", x, sh...), output("y", sh...)}, fwd)[1]
		dx := exec(t, s.b, []arg{input("dy", r, sh...), input("y", y, sh...), output("dx", sh...)}, bwd(false))[2]
		s.checkGrad(t, "dx", x, dx, hSmooth, func(x []float32) (float64, float64) {
			return dot(r, exec(t, s.b, []arg{input("x", x, sh...), output("y", sh...)}, fwd)[1])
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range elementwiseShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: []arg{
					input("dy", uniform(rng, sh.Len(), -1, 1), sh...),
					input("y", outputY(rng, sh.Len()), sh...),
					output("dx", sh...),
				},
				op: bwd(false),
			})
		}
		s.runCases(t, cases)
	})
	t.Run("add", func(t *testing.T) {
		rng := newRand()
		args := []arg{input("dy", uniform(rng, 60, -1, 1), 60), input("y", outputY(rng, 60), 60), output("dx", 60)}
		s.checkAdd(t, args, 2, func(b ops.Backend, ts []ops.Tensor, add bool) { bwd(add)(b, ts) })
	})
}
