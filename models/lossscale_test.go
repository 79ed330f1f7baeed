package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/ops"
)

// TestLossScaleGradients: an fp16 network's parameter gradients after
// Backward are the true ones (the float32 network's, within float16's
// rounding): the loss was scaled by 2^16 and the gradients unscaled, and
// Found stayed 0. Dropping either half of the scaling is off by 2^16.
func TestLossScaleGradients(t *testing.T) {
	cfg, err := Parse("resnet-8")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]float32, 4*3*32*32)
	for i := range xs {
		xs[i] = float32(r.NormFloat64())
	}
	grads := map[ops.DType][]float32{}
	for _, d := range []ops.DType{ops.Float32, ops.Float16} {
		b := cpuref.New(1)
		net, err := BuildAs(cfg, b, 4, layers.StoreAll, false, d)
		if err != nil {
			t.Fatal(err)
		}
		if (net.LossScale != nil) != (d == ops.Float16) {
			t.Fatalf("%v: LossScale %v", d, net.LossScale)
		}
		net.Init(1)
		net.SetTraining(true)
		x, _ := b.Alloc(4, 3, 32, 32)
		labels, _ := b.Alloc(4)
		b.CopyIn(x, xs)
		b.CopyIn(labels, []float32{0, 3, 5, 9})
		net.Forward(x)
		net.Loss(labels, true)
		net.Backward()
		g := make([]float32, net.Params.Count())
		if err := b.CopyOut(g, net.Params.Grads()); err != nil {
			t.Fatal(err)
		}
		grads[d] = g
		if ls := net.LossScale; ls != nil && b.Data(ls.Found)[0] != 0 {
			t.Fatal("Found set on a clean step")
		}
	}
	var num, den float64
	for i, w := range grads[ops.Float32] {
		num += math.Abs(float64(grads[ops.Float16][i] - w))
		den += math.Abs(float64(w))
	}
	if rel := num / den; !(rel < 0.05) {
		t.Errorf("fp16 gradients differ from float32's by %.3g (relative, summed): want < 0.05", rel)
	}
}
