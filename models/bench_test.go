package models

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkTrainStep times whole training steps (forward, loss, backward,
// SGD) on the CPU reference, the figure that decides how long CPU runs take.
func BenchmarkTrainStep(b *testing.B) {
	for _, tc := range []struct {
		model string
		batch int
	}{{"resnet-20", 32}} {
		b.Run(tc.model+"_b"+strconv.Itoa(tc.batch), func(b *testing.B) {
			cfg := mustParse(b, tc.model)
			be := newCPU()
			net := buildNet(b, cfg, be, tc.batch, 32)
			if err := net.SetupOptimizer(); err != nil {
				b.Fatal(err)
			}
			net.SetTraining(true)
			r := rand.New(rand.NewPCG(1, 2))
			bt := randomBatch(b, be, r, tc.batch, 32, cfg.Classes)
			for b.Loop() {
				meanLoss(b, net, bt, true)
				net.Backward()
				net.Step(sgd)
			}
			b.ReportMetric(float64(tc.batch*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
