package opstest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/ops"
)

// bnarFwdArgs orders BatchNormAddReLUForwardTraining's tensors as
// x, z, gamma, beta, runMean, runVar, y, saveMean, saveInvStd; z nil leaves
// it out (then y is 5, saveMean 6, saveInvStd 7).
func bnarFwdArgs(shape ops.Shape, x, z, gamma, beta, runMean, runVar []float32) []arg {
	c := shape[1]
	args := []arg{input("x", x, shape...)}
	if z != nil {
		args = append(args, input("z", z, shape...))
	}
	return append(args, input("gamma", gamma, c), input("beta", beta, c),
		update("runMean", runMean, c), update("runVar", runVar, c),
		output("y", shape...), output("saveMean", c), output("saveInvStd", c))
}

func bnarFwd(withZ bool) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) {
		if withZ {
			b.BatchNormAddReLUForwardTraining(ts[6], ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[7], ts[8], bnP)
			return
		}
		b.BatchNormAddReLUForwardTraining(ts[5], ts[0], nil, ts[1], ts[2], ts[3], ts[4], ts[6], ts[7], bnP)
	}
}

// bnarBwdArgs orders BatchNormAddReLUBackward's tensors as
// dy, y, x, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, then dz if withDz.
func bnarBwdArgs(shape ops.Shape, dy, y, x, gamma, saveMean, saveInvStd []float32, withDz bool) []arg {
	c := shape[1]
	args := []arg{
		input("dy", dy, shape...), input("y", y, shape...), input("x", x, shape...), input("gamma", gamma, c),
		input("saveMean", saveMean, c), input("saveInvStd", saveInvStd, c),
		output("dx", shape...), output("dgamma", c), output("dbeta", c),
	}
	if withDz {
		args = append(args, output("dz", shape...))
	}
	return args
}

func bnarBwd(withDz, add bool) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) {
		var dz ops.Tensor
		if withDz {
			dz = ts[9]
		}
		b.BatchNormAddReLUBackward(ts[6], dz, ts[7], ts[8], ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], bnP, add)
	}
}

// bnHost is BN(x) with the batch statistics, in float64 on the host.
func bnHost(shape ops.Shape, x, gamma, beta []float32) []float64 {
	n, c, h, w := shape.NCHW()
	mean, is := bnStats(shape, x)
	y := make([]float64, len(x))
	for i := range x {
		ch := (i / (h * w)) % c
		y[i] = float64(gamma[ch])*(float64(x[i])-float64(mean[ch]))*float64(is[ch]) + float64(beta[ch])
	}
	_ = n
	return y
}

// kinkFreeZ returns z such that BN(x) + z = ±[0.5, 1.5): no finite-difference
// step of the suite (at most 0.05 per element) crosses the ReLU's kink.
func kinkFreeZ(rng *rand.Rand, shape ops.Shape, x, gamma, beta []float32) []float32 {
	bn := bnHost(shape, x, gamma, beta)
	z := make([]float32, len(x))
	for i := range z {
		t := 0.5 + rng.Float64()
		if rng.IntN(2) == 0 {
			t = -t
		}
		z[i] = float32(t - bn[i])
	}
	return z
}

func (s *suite) testBatchNormAddReLUForwardTraining(t *testing.T) {
	shape := ops.Shape{2, 2, 1, 2}
	t.Run("hand", func(t *testing.T) {
		// bnX as in BatchNormForwardTraining's hand case; z moves some sums
		// below zero: channel 0 BN gives 2·(x−4)·invStd + 0.5, channel 1 −1.
		z := f32s(0, 1, 3, 0.5, 0, -1, 2, 0)
		y := make([]float64, 8)
		for i, v := range bnX {
			bn := -1.0
			if ch := (i / 2) % 2; ch == 0 {
				bn = 2*(float64(v)-4)*bnIS0 + 0.5
			}
			y[i] = math.Max(bn+float64(z[i]), 0)
		}
		s.runCases(t, []opCase{{
			name: "two_channels",
			args: bnarFwdArgs(shape, bnX, z, bnGamma, bnBeta, f32s(0.5, 1), f32s(2, 3)),
			op:   bnarFwd(true),
			want: map[string][]float32{
				"y": f32s(y...), "saveMean": f32s(4, 2), "saveInvStd": f32s(bnIS0, bnIS1),
				"runMean": f32s(0.85, 1.1), "runVar": f32s(1.8+2.0/3, 2.7),
			},
		}})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range bnShapes(s.o.Short) {
			x, gamma, beta := bnInputs(rng, sh)
			rm, rv := uniform(rng, sh[1], -1, 1), uniform(rng, sh[1], 0.5, 2)
			cases = append(cases, opCase{
				name: fmt.Sprint(sh, "/z"),
				args: bnarFwdArgs(sh, x, uniform(rng, sh.Len(), -1, 1), gamma, beta, rm, rv),
				op:   bnarFwd(true),
			}, opCase{
				name: fmt.Sprint(sh, "/no_z"),
				args: bnarFwdArgs(sh, x, nil, gamma, beta, rm, rv),
				op:   bnarFwd(false),
			})
		}
		s.runCases(t, cases)
	})
	t.Run("alias", func(t *testing.T) {
		sh := ops.Shape{2, 3, 4, 5}
		rng := newRand()
		x, gamma, beta := bnInputs(rng, sh)
		z := uniform(rng, sh.Len(), -1, 1)
		want := exec(t, s.b, bnarFwdArgs(sh, x, z, gamma, beta, filled(3, 0), filled(3, 1)), bnarFwd(true))[6]
		for i, name := range []string{"x", "z"} {
			args := bnarFwdArgs(sh, x, z, gamma, beta, filled(3, 0), filled(3, 1))[:6] // without y
			args[i].role = inout
			got := exec(t, s.b, args, func(b ops.Backend, ts []ops.Tensor) {
				sm, si := tensor(t, b, nil, 3), tensor(t, b, nil, 3)
				b.BatchNormAddReLUForwardTraining(ts[i], ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], sm, si, bnP)
			})[i]
			requireClose(t, "y (written over "+name+")", got, want, s.o.Atol, s.o.Rtol)
		}
	})
	t.Run("unfused", func(t *testing.T) { s.checkUnfusedForward(t) })
}

// checkUnfusedForward compares the fused op with BatchNormForwardTraining,
// AddTensor and ReLUForward on the backend under test: the same function,
// so the suite's tolerance holds (bitwise equality is not promised).
func (s *suite) checkUnfusedForward(t *testing.T) {
	sh := ops.Shape{4, 3, 5, 5}
	rng := newRand()
	x, gamma, beta := bnInputs(rng, sh)
	z := uniform(rng, sh.Len(), -1, 1)
	fused := exec(t, s.b, bnarFwdArgs(sh, x, z, gamma, beta, filled(3, 0), filled(3, 1)), bnarFwd(true))
	sep := exec(t, s.b, bnarFwdArgs(sh, x, z, gamma, beta, filled(3, 0), filled(3, 1)), func(b ops.Backend, ts []ops.Tensor) {
		b.BatchNormForwardTraining(ts[6], ts[0], ts[2], ts[3], ts[4], ts[5], ts[7], ts[8], bnP)
		b.AddTensor(ts[6], ts[1], 1, 1)
		b.ReLUForward(ts[6], ts[6])
	})
	for i, name := range []string{4: "runMean", 5: "runVar", 6: "y", 7: "saveMean", 8: "saveInvStd"} {
		if name != "" {
			requireClose(t, name+" (fused against separate ops)", fused[i], sep[i], s.o.Atol, s.o.Rtol)
		}
	}
}

func (s *suite) testBatchNormAddReLUBackward(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		// y (the forward output) masks dy: g = dy where y > 0; then
		// BatchNormBackward's formulas on g, and dz = g.
		y := f32s(1, 0, 2, 0, 0.5, 3, 0, 1)
		dy := f32s(1, 5, 1, 1, 2, -1, 7, 0)
		g := make([]float64, 8)
		for i := range g {
			if y[i] > 0 {
				g[i] = float64(dy[i])
			}
		}
		mean, is := []float64{4, 2}, []float64{bnIS0, bnIS1}
		xhat := make([]float64, 8)
		var dbeta, dgamma [2]float64
		for i := range g {
			ch := (i / 2) % 2
			xhat[i] = (float64(bnX[i]) - mean[ch]) * is[ch]
			dbeta[ch] += g[i]
			dgamma[ch] += g[i] * xhat[i]
		}
		dx := make([]float64, 8)
		for i := range dx {
			ch := (i / 2) % 2
			dx[i] = float64(bnGamma[ch]) * is[ch] / 4 * (4*g[i] - dbeta[ch] - xhat[i]*dgamma[ch])
		}
		s.runCases(t, []opCase{{
			name: "two_channels",
			args: bnarBwdArgs(ops.Shape{2, 2, 1, 2}, dy, y, bnX, bnGamma, f32s(4, 2), f32s(bnIS0, bnIS1), true),
			op:   bnarBwd(true, false),
			want: map[string][]float32{
				"dx": f32s(dx...), "dz": f32s(g...),
				// channel 0 keeps dy (1, 0, 2, −1)·mask (1, 0, 1, 1) = (1, 0, 2, −1)
				// against x̂ (−3, −1, 1, 3)·invStd; channel 1 keeps (1, 0, 0, 0).
				"dgamma": f32s((-3+2-3)*bnIS0, 0),
				"dbeta":  f32s(2, 1),
			},
		}})
	})
	t.Run("fd", func(t *testing.T) {
		sh := ops.Shape{2, 3, 3, 3}
		rng := newRand()
		x, gamma, beta := bnInputs(rng, sh)
		z := kinkFreeZ(rng, sh, x, gamma, beta)
		r := uniform(rng, sh.Len(), -1, 1)
		fwd := exec(t, s.b, bnarFwdArgs(sh, x, z, gamma, beta, filled(3, 0), filled(3, 1)), bnarFwd(true))
		g := exec(t, s.b, bnarBwdArgs(sh, r, fwd[6], x, gamma, fwd[7], fwd[8], true), bnarBwd(true, false))
		loss := func(x, z, gamma, beta []float32) (float64, float64) {
			y := exec(t, s.b, bnarFwdArgs(sh, x, z, gamma, beta, filled(3, 0), filled(3, 1)), bnarFwd(true))[6]
			return dot(r, y)
		}
		s.checkGrad(t, "dx", x, g[6], hSmooth, func(x []float32) (float64, float64) { return loss(x, z, gamma, beta) })
		s.checkGrad(t, "dz", z, g[9], hSmooth, func(z []float32) (float64, float64) { return loss(x, z, gamma, beta) })
		s.checkGrad(t, "dgamma", gamma, g[7], hSmooth, func(gamma []float32) (float64, float64) { return loss(x, z, gamma, beta) })
		s.checkGrad(t, "dbeta", beta, g[8], hSmooth, func(beta []float32) (float64, float64) { return loss(x, z, gamma, beta) })
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range bnShapes(s.o.Short) {
			x, gamma, beta := bnInputs(rng, sh)
			z := uniform(rng, sh.Len(), -1, 1)
			fwd := exec(t, s.ref, bnarFwdArgs(sh, x, z, gamma, beta, filled(sh[1], 0), filled(sh[1], 1)), bnarFwd(true))
			dy := uniform(rng, sh.Len(), -1, 1)
			for _, withDz := range []bool{true, false} {
				cases = append(cases, opCase{
					name: fmt.Sprint(sh, "/dz=", withDz),
					args: bnarBwdArgs(sh, dy, fwd[6], x, gamma, fwd[7], fwd[8], withDz),
					op:   bnarBwd(withDz, false),
				})
			}
		}
		s.runCases(t, cases)
	})
	t.Run("add", func(t *testing.T) {
		sh := ops.Shape{2, 3, 4, 5}
		rng := newRand()
		x, gamma, beta := bnInputs(rng, sh)
		z := uniform(rng, sh.Len(), -1, 1)
		fwd := exec(t, s.ref, bnarFwdArgs(sh, x, z, gamma, beta, filled(3, 0), filled(3, 1)), bnarFwd(true))
		args := bnarBwdArgs(sh, uniform(rng, sh.Len(), -1, 1), fwd[6], x, gamma, fwd[7], fwd[8], true)
		// dx (6) and dz (9) both take add: pre-filled, each must come back
		// as the pre-fill plus what add=false writes.
		plain := exec(t, s.b, args, bnarBwd(true, false))
		added := append([]arg(nil), args...)
		want := map[int][]float32{}
		for _, i := range []int{6, 9} {
			prefill := make([]float32, sh.Len())
			want[i] = make([]float32, sh.Len())
			for k := range prefill {
				prefill[k] = float32((k+i)%7) - 3.25
				want[i][k] = prefill[k] + plain[i][k]
			}
			added[i] = update(args[i].name, prefill, sh...)
		}
		got := exec(t, s.b, added, bnarBwd(true, true))
		for i, w := range want {
			requireClose(t, args[i].name+" with add=true", got[i], w, s.o.Atol, s.o.Rtol)
		}
	})
	t.Run("unfused", func(t *testing.T) {
		sh := ops.Shape{4, 3, 5, 5}
		rng := newRand()
		x, gamma, beta := bnInputs(rng, sh)
		z := uniform(rng, sh.Len(), -1, 1)
		fwd := exec(t, s.b, bnarFwdArgs(sh, x, z, gamma, beta, filled(3, 0), filled(3, 1)), bnarFwd(true))
		args := bnarBwdArgs(sh, uniform(rng, sh.Len(), -1, 1), fwd[6], x, gamma, fwd[7], fwd[8], true)
		fused := exec(t, s.b, args, bnarBwd(true, false))
		sep := exec(t, s.b, args, func(b ops.Backend, ts []ops.Tensor) {
			b.ReLUBackward(ts[9], ts[0], ts[1], false)
			b.BatchNormBackward(ts[6], ts[7], ts[8], ts[9], ts[2], ts[3], ts[4], ts[5], bnP, false)
		})
		for i := 6; i <= 9; i++ {
			requireClose(t, args[i].name+" (fused against separate ops)", fused[i], sep[i], s.o.Atol, s.o.Rtol)
		}
	})
}
