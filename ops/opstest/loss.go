package opstest

import (
	"fmt"
	"math"
	"testing"

	"github.com/deepres/deepres/ops"
)

// ceArgs orders SoftmaxCrossEntropy's tensors as logits, labels, losses,
// correct and, with grad, dlogits.
func ceArgs(n, k int, logits, labels []float32, grad bool) []arg {
	args := []arg{input("logits", logits, n, k), input("labels", labels, n), output("losses", n), output("correct", n)}
	if grad {
		args = append(args, output("dlogits", n, k))
	}
	return args
}

func softmaxCE(b ops.Backend, ts []ops.Tensor) {
	var dlogits ops.Tensor // a nil interface, not a typed nil, when the case has no gradient
	if len(ts) == 5 {
		dlogits = ts[4]
	}
	b.SoftmaxCrossEntropy(dlogits, ts[2], ts[3], ts[0], ts[1])
}

// ceHand works the loss out in float64: loss = log Σ exp(z) − z[label],
// computed as m + log Σ exp(z−m) with m = max z, so that 1000 does not overflow.
func ceHand(n, k int, logits, labels []float32) (losses, dlogits []float64) {
	losses, dlogits = make([]float64, n), make([]float64, n*k)
	for i := range n {
		z := logits[i*k : (i+1)*k]
		m := math.Inf(-1)
		for _, v := range z {
			m = math.Max(m, float64(v))
		}
		sum := 0.0
		for _, v := range z {
			sum += math.Exp(float64(v) - m)
		}
		lab := int(labels[i])
		losses[i] = m + math.Log(sum) - float64(z[lab])
		for j, v := range z {
			p := math.Exp(float64(v)-m) / sum
			if j == lab {
				p--
			}
			dlogits[i*k+j] = p / float64(n)
		}
	}
	return losses, dlogits
}

func (s *suite) testSoftmaxCrossEntropy(t *testing.T) {
	// Rows: uniform logits (loss ln 3; arg-max is the first tie, 0, not the
	// label 1); softmax (1, 2, 5)/8 with label 2; a tie for the maximum at 0
	// and 1 with label 0 (correct); and logits of 1000 that must not overflow,
	// tied, with label 1 (incorrect, loss ln 2).
	logits := f32s(0, 0, 0, 0, math.Log(2), math.Log(5), 2, 2, 1, 1000, 1000, 0)
	labs := f32s(1, 2, 0, 1)
	losses, dlogits := ceHand(4, 3, logits, labs)
	if math.Abs(losses[0]-math.Log(3)) > 1e-12 || math.Abs(losses[3]-math.Log(2)) > 1e-12 {
		panic("opstest: the hand-worked cross-entropy is wrong")
	}
	t.Run("hand", func(t *testing.T) {
		want := map[string][]float32{"losses": f32s(losses...), "correct": f32s(0, 1, 1, 0), "dlogits": f32s(dlogits...)}
		s.runCases(t, []opCase{
			{name: "ties_and_large_logits", args: ceArgs(4, 3, logits, labs, true), op: softmaxCE, want: want},
			{
				name: "without_dlogits",
				args: ceArgs(4, 3, logits, labs, false),
				op:   softmaxCE,
				want: map[string][]float32{"losses": want["losses"], "correct": want["correct"]},
			},
		})
	})
	t.Run("fd", func(t *testing.T) {
		n, k := 3, 5
		rng := newRand()
		z, labs := uniform(rng, n*k, -2, 2), labels(rng, n, k)
		g := exec(t, s.b, ceArgs(n, k, z, labs, true), softmaxCE)[4]
		s.checkGrad(t, "dlogits", z, g, hSmooth, func(z []float32) (float64, float64) {
			// L is the mean loss; each loss's rounding error scales with
			// the loss and with the largest logit it subtracts.
			losses := exec(t, s.b, ceArgs(n, k, z, labs, false), softmaxCE)[2]
			l, scale := 0.0, 0.0
			for i, v := range losses {
				l += float64(v) / float64(n)
				m := 0.0
				for _, x := range z[i*k : (i+1)*k] {
					m = math.Max(m, math.Abs(float64(x)))
				}
				scale += (math.Abs(float64(v)) + m) / float64(n)
			}
			return l, scale
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		shapes := [][2]int{{7, 10}, {3, 100}, {2, 1}}
		if !s.o.Short {
			shapes = append(shapes, [2]int{128, 10})
		}
		var cases []opCase
		for _, sh := range shapes {
			n, k := sh[0], sh[1]
			z, labs := uniform(rng, n*k, -3, 3), labels(rng, n, k)
			cases = append(cases,
				opCase{name: fmt.Sprintf("n%d_k%d", n, k), args: ceArgs(n, k, z, labs, true), op: softmaxCE},
				opCase{name: fmt.Sprintf("n%d_k%d_without_dlogits", n, k), args: ceArgs(n, k, z, labs, false), op: softmaxCE})
		}
		s.runCases(t, cases)
	})
}
