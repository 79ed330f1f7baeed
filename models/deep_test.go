package models

import (
	"math/rand/v2"
	"testing"
)

// TestDeepModels runs a training step of the papers' deepest networks on the
// CPU reference at full CIFAR size. .ci/run runs it (without -short).
func TestDeepModels(t *testing.T) {
	if testing.Short() {
		t.Skip("deep models take tens of seconds on the CPU; .ci/run runs them without -short")
	}
	for _, name := range []string{"resnet-1202", "preact-resnet-1001"} {
		t.Run(name, func(t *testing.T) {
			cfg := mustParse(t, name)
			cfg.SD = SDLinear
			b := newCPU()
			net := buildNet(t, cfg, b, 2, 32)
			if err := net.SetupOptimizer(); err != nil {
				t.Fatal(err)
			}
			net.SetTraining(true)
			r := rand.New(rand.NewPCG(7, 8))
			bt := randomBatch(t, b, r, 2, 32, cfg.Classes)
			net.DrawDepth(r)
			loss := meanLoss(t, net, bt, true)
			net.Backward()
			net.Step(sgd)
			if loss <= 0 || loss > 50 {
				t.Errorf("loss %g is not a plausible cross-entropy", loss)
			}
			if g := download(t, b, net.Params.Grads()); !finite(g) {
				t.Error("non-finite gradients")
			}
		})
	}
}
