package opstest

import (
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
)

// sgdSteps runs SGDUpdate steps times with the same gradient, over args
// dw, w, v.
func sgdSteps(p ops.SGDParams, steps int) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) {
		for range steps {
			b.SGDUpdate(ts[1], ts[0], ts[2], p)
		}
	}
}

func (s *suite) testSGDUpdate(t *testing.T) {
	args := func(w, dw, v []float32) []arg {
		n := len(w)
		return []arg{input("dw", dw, n), update("w", w, n), update("v", v, n)}
	}
	// Two steps from w = (1, −2), v = 0 with dw = (0.5, 1), LR 0.1, momentum 0.9,
	// weight decay 0.01 (docs/design.md, PyTorch's rule):
	//   step 1: g = (0.51, 0.98); v = g;
	//     plain:    w = (1 − 0.051, −2 − 0.098) = (0.949, −2.098)
	//     Nesterov: step = g + 0.9·v = (0.969, 1.862); w = (0.9031, −2.1862)
	//   step 2, plain:    g = (0.50949, 0.97902); v = 0.9·(0.51, 0.98) + g = (0.96849, 1.86102);
	//                     w = (0.949 − 0.096849, −2.098 − 0.186102)
	//   step 2, Nesterov: g = (0.509031, 0.978138); v = (0.968031, 1.860138);
	//                     step = g + 0.9·v = (1.3802589, 2.6522622);
	//                     w = (0.9031 − 0.13802589, −2.1862 − 0.26522622)
	w0, dw, v0 := f32s(1, -2), f32s(0.5, 1), f32s(0, 0)
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				name: "momentum_wd_2steps",
				args: args(w0, dw, v0),
				op:   sgdSteps(ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01}, 2),
				want: map[string][]float32{"w": f32s(0.852151, -2.284102), "v": f32s(0.96849, 1.86102)},
			},
			{
				name: "nesterov_wd_2steps",
				args: args(w0, dw, v0),
				op:   sgdSteps(ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true}, 2),
				want: map[string][]float32{"w": f32s(0.76507411, -2.45142622), "v": f32s(0.968031, 1.860138)},
			},
			{
				// Without momentum or decay, w −= LR·dw each step and v = g = dw.
				name: "plain_2steps",
				args: args(w0, dw, f32s(5, 5)),
				op:   sgdSteps(ops.SGDParams{LR: 0.1}, 2),
				want: map[string][]float32{"w": f32s(0.9, -2.2), "v": dw},
			},
			{
				// The rate read from a tensor (a captured step's): LR is ignored.
				name: "lr_tensor_nesterov_2steps",
				args: append(args(w0, dw, v0), input("lr", f32s(0.1), 1)),
				op: func(b ops.Backend, ts []ops.Tensor) {
					p := ops.SGDParams{LR: 99, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true, LRTensor: ts[3]}
					sgdSteps(p, 2)(b, ts)
				},
				want: map[string][]float32{"w": f32s(0.76507411, -2.45142622), "v": f32s(0.968031, 1.860138)},
			},
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		params := []ops.SGDParams{
			{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4},
			{LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true},
			{LR: 0.01},
		}
		var cases []opCase
		for _, n := range []int{1, 7, 4099} {
			for i, p := range params {
				cases = append(cases, opCase{
					name: fmt.Sprintf("n%d_params%d", n, i),
					args: args(uniform(rng, n, -1, 1), uniform(rng, n, -1, 1), uniform(rng, n, -1, 1)),
					op:   sgdSteps(p, 1),
				})
			}
		}
		s.runCases(t, cases)
	})
}
