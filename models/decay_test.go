package models

import (
	"strings"
	"testing"

	"github.com/deepres/deepres/ops"
)

// TestNoBNDecay: with NoBNDecay a step with zero gradients and no momentum
// shrinks conv weights by lr·wd but leaves BN weights and biases alone; by
// default it shrinks everything.
func TestNoBNDecay(t *testing.T) {
	for _, off := range []bool{false, true} {
		cfg := mustParse(t, "resnet-8")
		cfg.NoBNDecay = off
		b := newCPU()
		net := buildNet(t, cfg, b, 2, 8)
		if err := net.SetupOptimizer(); err != nil {
			t.Fatal(err)
		}
		before := map[string][]float32{}
		for _, p := range net.Params.Params {
			before[p.Name] = download(t, b, p.Value)
		}
		b.Fill(net.Params.Grads(), 0)
		net.Step(ops.SGDParams{LR: 1, WeightDecay: 0.5})
		for _, p := range net.Params.Params {
			after := download(t, b, p.Value)
			isBN := strings.Contains(p.Name, "bn")
			for i, w := range before[p.Name] {
				want := w * 0.5
				if off && isBN {
					want = w
				}
				if after[i] != want {
					t.Fatalf("NoBNDecay=%v: %s[%d] = %v after the step, want %v", off, p.Name, i, after[i], want)
				}
			}
		}
	}
}
