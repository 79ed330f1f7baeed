package opstest

import (
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
)

func reduce(r ops.Reduction) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.Reduce(ts[1], ts[0], r) }
}

func (s *suite) testReduce(t *testing.T) {
	kinds := []ops.Reduction{ops.ReduceSum, ops.ReduceSumSquares, ops.ReduceSumAbs}
	t.Run("hand", func(t *testing.T) {
		x := f32s(1, -2, 3, 0.5)
		want := []float32{2.5, 1 + 4 + 9 + 0.25, 6.5}
		var cases []opCase
		for i, r := range kinds {
			cases = append(cases, opCase{
				name: r.String(),
				args: []arg{input("x", x, 2, 2), output("dst", 1)},
				op:   reduce(r),
				want: map[string][]float32{"dst": {want[i]}},
			})
		}
		// 2¹⁸ copies of float32(0.1): a float32 running sum drifts by far more
		// than Rtol, so this catches a backend that does not accumulate wide.
		n := 1 << 18
		tenth := float32(0.1)
		cases = append(cases, opCase{
			name: "long_sum",
			args: []arg{input("x", filled(n, tenth), n), output("dst", 1)},
			op:   reduce(ops.ReduceSum),
			want: map[string][]float32{"dst": {float32(float64(n) * float64(tenth))}},
		})
		s.runCases(t, cases)
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, n := range []int{1, 7, 10007} {
			x := uniform(rng, n, -1, 1)
			for _, r := range kinds {
				cases = append(cases, opCase{
					name: fmt.Sprintf("n%d_%v", n, r),
					args: []arg{input("x", x, n), output("dst", 1)},
					op:   reduce(r),
				})
			}
		}
		s.runCases(t, cases)
	})
}
