package opstest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/ops"
)

var bnP = ops.DefaultBatchNorm

// The hand cases use x (N=2, C=2, H=1, W=2): channel 0 holds 1, 3, 5, 7
// (mean 4, biased variance 20/4 = 5, unbiased 20/3), channel 1 is constant 2
// (variance 0, so invStd = 1/sqrt(eps) and y = beta).
var (
	bnX     = f32s(1, 3, 2, 2, 5, 7, 2, 2)
	bnGamma = f32s(2, 0.5)
	bnBeta  = f32s(0.5, -1)
	bnIS0   = 1 / math.Sqrt(5+1e-5)
	bnIS1   = 1 / math.Sqrt(1e-5)
)

// bnFwdArgs orders BatchNormForwardTraining's tensors as
// x, gamma, beta, runMean, runVar, y, saveMean, saveInvStd.
func bnFwdArgs(shape ops.Shape, x, gamma, beta, runMean, runVar []float32) []arg {
	c := shape[1]
	return []arg{
		input("x", x, shape...), input("gamma", gamma, c), input("beta", beta, c),
		update("runMean", runMean, c), update("runVar", runVar, c),
		output("y", shape...), output("saveMean", c), output("saveInvStd", c),
	}
}

func bnFwd(b ops.Backend, ts []ops.Tensor) {
	b.BatchNormForwardTraining(ts[5], ts[0], ts[1], ts[2], ts[3], ts[4], ts[6], ts[7], bnP)
}

// bnBwdArgs orders BatchNormBackward's tensors as
// dy, x, gamma, saveMean, saveInvStd, dx, dgamma, dbeta.
func bnBwdArgs(shape ops.Shape, dy, x, gamma, saveMean, saveInvStd []float32) []arg {
	c := shape[1]
	return []arg{
		input("dy", dy, shape...), input("x", x, shape...), input("gamma", gamma, c),
		input("saveMean", saveMean, c), input("saveInvStd", saveInvStd, c),
		output("dx", shape...), output("dgamma", c), output("dbeta", c),
	}
}

func bnBwd(add bool) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) {
		b.BatchNormBackward(ts[5], ts[6], ts[7], ts[0], ts[1], ts[2], ts[3], ts[4], bnP, add)
	}
}

// storedStats is bnStats of x as the pass stores it (rounded in a half
// pass): the statistics of the x BatchNormBackward reads, which the
// simulated cuDNN checks savedMean and savedInvVariance against.
func (s *suite) storedStats(shape ops.Shape, x []float32) (mean, invStd []float32) {
	if s.o.DType != ops.Float32 {
		x = clone(x)
		ops.RoundSlice(s.o.DType, x)
	}
	return bnStats(shape, x)
}

// bnStats returns x's per-channel mean and 1/sqrt(biased var + eps), in
// float64 on the host: the saved statistics BatchNormBackward takes.
func bnStats(shape ops.Shape, x []float32) (mean, invStd []float32) {
	n, c, h, w := shape.NCHW()
	mean, invStd = make([]float32, c), make([]float32, c)
	for ch := range c {
		var s, ss float64
		for i := range n {
			for _, v := range x[(i*c+ch)*h*w : (i*c+ch+1)*h*w] {
				s += float64(v)
				ss += float64(v) * float64(v)
			}
		}
		m := float64(n * h * w)
		mu := s / m
		mean[ch] = float32(mu)
		invStd[ch] = float32(1 / math.Sqrt(ss/m-mu*mu+bnP.Eps))
	}
	return mean, invStd
}

func bnShapes(short bool) []ops.Shape {
	shapes := []ops.Shape{{2, 3, 4, 5}, {1, 4, 3, 3}, {5, 7, 1, 1}}
	if short {
		return shapes
	}
	return append(shapes, ops.Shape{3, 16, 8, 8}, ops.Shape{8, 5, 2, 3})
}

// bnInputs draws x around 3 (so that the mean matters) with spread 2, gamma
// in [0.5, 1.5) and beta in [−0.5, 0.5).
func bnInputs(rng *rand.Rand, shape ops.Shape) (x, gamma, beta []float32) {
	c := shape[1]
	return uniform(rng, shape.Len(), 1, 5), uniform(rng, c, 0.5, 1.5), uniform(rng, c, -0.5, 0.5)
}

func (s *suite) testBatchNormForwardTraining(t *testing.T) {
	shape := ops.Shape{2, 2, 1, 2}
	t.Run("hand", func(t *testing.T) {
		y := make([]float64, 8)
		for i, v := range bnX {
			if ch := (i / 2) % 2; ch == 0 {
				y[i] = 2*(float64(v)-4)*bnIS0 + 0.5
			} else {
				y[i] = -1
			}
		}
		s.runCases(t, []opCase{{
			name: "two_channels",
			args: bnFwdArgs(shape, bnX, bnGamma, bnBeta, f32s(0.5, 1), f32s(2, 3)),
			op:   bnFwd,
			want: map[string][]float32{
				"y":          f32s(y...),
				"saveMean":   f32s(4, 2),
				"saveInvStd": f32s(bnIS0, bnIS1),
				// running = 0.9·running + 0.1·batch, with the unbiased variance:
				// mean 0.9·0.5 + 0.1·4, 0.9·1 + 0.1·2; var 0.9·2 + 0.1·20/3, 0.9·3 + 0.
				"runMean": f32s(0.85, 1.1),
				"runVar":  f32s(1.8+2.0/3, 2.7),
			},
		}})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range bnShapes(s.o.Short) {
			x, gamma, beta := bnInputs(rng, sh)
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: bnFwdArgs(sh, x, gamma, beta, uniform(rng, sh[1], -1, 1), uniform(rng, sh[1], 0.5, 2)),
				op:   bnFwd,
			})
		}
		s.runCases(t, cases)
	})
	t.Run("alias", func(t *testing.T) {
		sh := ops.Shape{2, 3, 4, 5}
		x, gamma, beta := bnInputs(newRand(), sh)
		rm, rv := filled(3, 0.5), filled(3, 2)
		want := exec(t, s.b, bnFwdArgs(sh, x, gamma, beta, rm, rv), bnFwd)
		// Without its y: x is written over, saveMean and saveInvStd move to 5 and 6.
		args := bnFwdArgs(sh, x, gamma, beta, rm, rv)
		args = append(args[:5], args[6:]...)
		args[0].role = inout
		got := exec(t, s.b, args, func(b ops.Backend, ts []ops.Tensor) {
			b.BatchNormForwardTraining(ts[0], ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6], bnP)
		})
		requireClose(t, "y (written over x)", got[0], want[5], s.o.Atol, s.o.Rtol)
		// runMean, runVar, saveMean, saveInvStd: 3..6 in got, 3, 4, 6, 7 in want.
		for g, w := range map[int]int{3: 3, 4: 4, 5: 6, 6: 7} {
			requireClose(t, args[g].name, got[g], want[w], s.o.Atol, s.o.Rtol)
		}
	})
}

func (s *suite) testBatchNormForwardInference(t *testing.T) {
	fwd := func(b ops.Backend, ts []ops.Tensor) {
		b.BatchNormForwardInference(ts[5], ts[0], ts[1], ts[2], ts[3], ts[4], bnP)
	}
	infArgs := func(sh ops.Shape, x, gamma, beta, rm, rv []float32) []arg {
		c := sh[1]
		return []arg{input("x", x, sh...), input("gamma", gamma, c), input("beta", beta, c),
			input("runMean", rm, c), input("runVar", rv, c), output("y", sh...)}
	}
	t.Run("hand", func(t *testing.T) {
		// runMean (4, 1), runVar (3, 0.25): channel 0 gives 2·(x−4)/sqrt(3+eps) + 0.5,
		// channel 1 gives 0.5·(2−1)/sqrt(0.25+eps) − 1.
		y := make([]float64, 8)
		for i, v := range bnX {
			if ch := (i / 2) % 2; ch == 0 {
				y[i] = 2*(float64(v)-4)/math.Sqrt(3+1e-5) + 0.5
			} else {
				y[i] = 0.5/math.Sqrt(0.25+1e-5) - 1
			}
		}
		s.runCases(t, []opCase{{
			name: "two_channels",
			args: infArgs(ops.Shape{2, 2, 1, 2}, bnX, bnGamma, bnBeta, f32s(4, 1), f32s(3, 0.25)),
			op:   fwd,
			want: map[string][]float32{"y": f32s(y...)},
		}})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range bnShapes(s.o.Short) {
			x, gamma, beta := bnInputs(rng, sh)
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: infArgs(sh, x, gamma, beta, uniform(rng, sh[1], 2, 4), uniform(rng, sh[1], 0.5, 2)),
				op:   fwd,
			})
		}
		s.runCases(t, cases)
	})
	t.Run("alias", func(t *testing.T) {
		sh := ops.Shape{2, 3, 4, 5}
		rng := newRand()
		x, gamma, beta := bnInputs(rng, sh)
		rm, rv := uniform(rng, 3, 2, 4), uniform(rng, 3, 0.5, 2)
		want := exec(t, s.b, infArgs(sh, x, gamma, beta, rm, rv), fwd)[5]
		args := infArgs(sh, x, gamma, beta, rm, rv)[:5] // without y: x is written over
		args[0].role = inout
		got := exec(t, s.b, args, func(b ops.Backend, ts []ops.Tensor) {
			b.BatchNormForwardInference(ts[0], ts[0], ts[1], ts[2], ts[3], ts[4], bnP)
		})[0]
		requireClose(t, "y (written over x)", got, want, s.o.Atol, s.o.Rtol)
	})
}

func (s *suite) testBatchNormBackward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		// With x̂ = (x−mean)·invStd and M = 4 values per channel:
		// dbeta = Σdy, dgamma = Σdy·x̂, dx = gamma·invStd/M·(M·dy − dbeta − x̂·dgamma).
		dy := f32s(1, 0, 1, 1, 2, -1, 0, 0)
		mean, is := []float64{4, 2}, []float64{bnIS0, bnIS1}
		xhat := make([]float64, 8)
		var dbeta, dgamma [2]float64
		for i := range dy {
			ch := (i / 2) % 2
			xhat[i] = (float64(bnX[i]) - mean[ch]) * is[ch]
			dbeta[ch] += float64(dy[i])
			dgamma[ch] += float64(dy[i]) * xhat[i]
		}
		dx := make([]float64, 8)
		for i := range dx {
			ch := (i / 2) % 2
			dx[i] = float64(bnGamma[ch]) * is[ch] / 4 * (4*float64(dy[i]) - dbeta[ch] - xhat[i]*dgamma[ch])
		}
		s.runCases(t, []opCase{{
			name: "two_channels",
			args: bnBwdArgs(ops.Shape{2, 2, 1, 2}, dy, bnX, bnGamma, f32s(4, 2), f32s(bnIS0, bnIS1)),
			op:   bnBwd(false),
			want: map[string][]float32{
				"dx": f32s(dx...),
				// channel 0: dy (1, 0, 2, −1) against x̂ (−3, −1, 1, 3)·invStd;
				// channel 1: dy (1, 1, 0, 0) against x̂ = 0.
				"dgamma": f32s((-3+2-3)*bnIS0, 0),
				"dbeta":  f32s(2, 2),
			},
		}})
	})
	t.Run("fd", func(t *testing.T) {
		sh := ops.Shape{2, 3, 3, 3}
		rng := newRand()
		x, gamma, beta := bnInputs(rng, sh)
		r := uniform(rng, sh.Len(), -1, 1)
		fwd := exec(t, s.b, bnFwdArgs(sh, x, gamma, beta, filled(3, 0), filled(3, 1)), bnFwd)
		g := exec(t, s.b, bnBwdArgs(sh, r, x, gamma, fwd[6], fwd[7]), bnBwd(false))
		loss := func(x, gamma, beta []float32) (float64, float64) {
			y := exec(t, s.b, bnFwdArgs(sh, x, gamma, beta, filled(3, 0), filled(3, 1)), bnFwd)[5]
			return dot(r, y)
		}
		s.checkGrad(t, "dx", x, g[5], hSmooth, func(x []float32) (float64, float64) { return loss(x, gamma, beta) })
		s.checkGrad(t, "dgamma", gamma, g[6], hSmooth, func(gamma []float32) (float64, float64) { return loss(x, gamma, beta) })
		s.checkGrad(t, "dbeta", beta, g[7], hLinear, func(beta []float32) (float64, float64) { return loss(x, gamma, beta) })
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range bnShapes(s.o.Short) {
			x, gamma, _ := bnInputs(rng, sh)
			mean, is := s.storedStats(sh, x)
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: bnBwdArgs(sh, uniform(rng, sh.Len(), -1, 1), x, gamma, mean, is),
				op:   bnBwd(false),
			})
		}
		s.runCases(t, cases)
	})
	t.Run("add", func(t *testing.T) {
		sh := ops.Shape{2, 3, 4, 5}
		rng := newRand()
		x, gamma, _ := bnInputs(rng, sh)
		mean, is := s.storedStats(sh, x)
		args := bnBwdArgs(sh, uniform(rng, sh.Len(), -1, 1), x, gamma, mean, is)
		s.checkAdd(t, args, 5, func(b ops.Backend, ts []ops.Tensor, add bool) { bnBwd(add)(b, ts) })
	})
}
