package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/ops/opcount"
)

// TestFusedMatchesUnfused trains every variant of the gradient check for two
// steps fused (Env.Fuse, the default) and unfused, in every recompute mode,
// with the same weights, batch and stochastic-depth draws, and requires
// their losses, gradients, weights and BN running statistics to agree to
// float32 rounding: the fused op computes the same function in another
// order (bitwise equality is not promised). The unfused network must run
// no fused op, the fused one must run some (every model here has a BN
// followed by a ReLU).
func TestFusedMatchesUnfused(t *testing.T) {
	for _, tc := range gradCases() {
		for _, mode := range recomputeModes {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				cfg := mustParse(t, tc.model)
				if tc.adjust != nil {
					tc.adjust(&cfg)
				}
				const n, size, steps = 4, 8, 2
				b := opcount.New(cpuref.New(0))
				var nets [2]*Network
				for i, fuse := range []bool{false, true} {
					net := newNetWith(t, cfg, b, n, size, func(e *layers.Env) { e.Recompute, e.Fuse = mode, fuse })
					net.SetTraining(true)
					net.Env.DropoutSeed = 99
					nets[i] = net
				}
				r := rand.New(rand.NewPCG(7, 8))
				bt := randomBatch(t, b, r, n, size, cfg.Classes)
				for s := 0; s < steps; s++ {
					seed := r.Uint64()
					var losses [2][]float32
					for i, net := range nets {
						if tc.mask != nil {
							for j, u := range net.Units {
								u.Active = tc.mask(j + s)
							}
						} else {
							net.DrawDepth(rand.New(rand.NewPCG(seed, 1)))
						}
						b.Reset()
						meanLoss(t, net, bt, true)
						losses[i] = download(t, b, net.Losses())
						net.Backward()
						fusedOps := b.Counts["BatchNormAddReLUForwardTraining"] + b.Counts["BatchNormAddReLUBackward"]
						if fuse := net.Env.Fuse; fuse != (fusedOps > 0) {
							t.Fatalf("step %d: Fuse %t, but %d fused batch-norm ops ran", s, fuse, fusedOps)
						}
						net.Step(sgd)
					}
					near(t, s, "losses", losses[0], losses[1])
					near(t, s, "gradients", download(t, b, nets[0].Params.Grads()), download(t, b, nets[1].Params.Grads()))
					near(t, s, "weights", download(t, b, nets[0].Params.Values()), download(t, b, nets[1].Params.Values()))
					for j, buf := range nets[0].Params.Buffers {
						near(t, s, buf.Name, download(t, b, buf.Value), download(t, b, nets[1].Params.Buffers[j].Value))
					}
				}
			})
		}
	}
}

// near requires |a−b| <= 1e-4·max|a| + 1e-6 element-wise: float32 rounding
// of the same function, relative to the tensor's scale (a gradient near
// zero differs by rounding of its larger neighbours).
func near(t *testing.T, step int, what string, a, b []float32) {
	t.Helper()
	scale := 0.0
	for _, v := range a {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	tol := 1e-4*scale + 1e-6
	for i := range a {
		if d := math.Abs(float64(a[i]) - float64(b[i])); !(d <= tol) {
			t.Fatalf("step %d: %s differ at %d: %v unfused, %v fused (|diff| %.3g > %.3g)", step, what, i, a[i], b[i], d, tol)
		}
	}
}
