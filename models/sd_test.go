package models

import (
	"cmp"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/ops/opcount"
)

// TestStochasticDepthSkipsWork counts the convolutions a resnet-110 training
// step launches with p_L = 0.5: each active unit runs its two convs forward
// and two of each backward; a dropped unit runs none. Over many steps the
// mean number of active units approaches the expected depth Σ p_l.
func TestStochasticDepthSkipsWork(t *testing.T) {
	cfg := mustParse(t, "resnet-110")
	cfg.SD, cfg.SDPL = SDLinear, 0.5
	ob := opcount.New(newCPU())
	const n, size = 2, 4
	net := buildNet(t, cfg, ob, n, size)
	net.SetTraining(true)
	r := rand.New(rand.NewPCG(3, 4))
	bt := randomBatch(t, ob, r, n, size, cfg.Classes)
	const steps = 40
	sum := 0
	for s := 0; s < steps; s++ {
		active := net.DrawDepth(r)
		ob.Reset()
		meanLoss(t, net, bt, true)
		net.Backward()
		// the stem's conv runs forward and backward-filter once (no input gradient)
		if got, want := ob.Counts["ConvForward"], 1+2*active; got != want {
			t.Fatalf("step %d: %d active units, %d ConvForward, want %d", s, active, got, want)
		}
		if got, want := ob.Counts["ConvBackwardData"], 2*active; got != want {
			t.Fatalf("step %d: ConvBackwardData %d, want %d", s, got, want)
		}
		if got, want := ob.Counts["ConvBackwardFilter"], 1+2*active; got != want {
			t.Fatalf("step %d: ConvBackwardFilter %d, want %d", s, got, want)
		}
		// Unfused (the default), every batch norm of resnet-110 runs on its
		// own (TestFusedMatchesUnfused counts the fused ones).
		if got, want := ob.Counts["BatchNormForwardTraining"], 1+2*active; got != want || ob.Counts["BatchNormAddReLUForwardTraining"] != 0 {
			t.Fatalf("step %d: BatchNormForwardTraining %d, want %d (and BatchNormAddReLUForwardTraining %d, want 0)",
				s, got, want, ob.Counts["BatchNormAddReLUForwardTraining"])
		}
		sum += active
	}
	mean := float64(sum) / steps
	want := net.ExpectedDepth()
	if math.Abs(want-40.25) > 1e-9 {
		t.Errorf("expected depth %g, want 54 − 0.5·55/2 = 40.25", want)
	}
	// the variance of the active count is Σ p(1−p) ≈ 9.6: allow 4 standard errors
	if se := math.Sqrt(9.6 / steps); math.Abs(mean-want) > 4*se {
		t.Errorf("mean active units %.2f over %d steps, expected depth %.2f", mean, steps, want)
	}
	if sum == steps*len(net.Units) {
		t.Error("no unit was ever dropped")
	}
}

// TestNoAllocationInSteps: training steps allocate nothing on the
// backend, the first one included — Setup and SetupOptimizer allocate
// everything, so a device too small fails there, with an error.
func TestNoAllocationInSteps(t *testing.T) {
	for _, name := range []string{"resnet-20", "preact-resnet-20", "wrn-16-2", "resnet-20/bn", "preact-resnet-20/unit"} {
		t.Run(name, func(t *testing.T) {
			model, mode, _ := strings.Cut(name, "/")
			recompute, err := layers.ParseRecompute(cmp.Or(mode, "off"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := mustParse(t, model)
			cfg.SD, cfg.RoR = SDLinear, 3
			ob := opcount.New(newCPU())
			net := newRecomputing(t, cfg, ob, recompute, 4, 8)
			net.SetTraining(true)
			r := rand.New(rand.NewPCG(5, 6))
			bt := randomBatch(t, ob, r, 4, 8, cfg.Classes)
			step := func() {
				net.DrawDepth(r)
				meanLoss(t, net, bt, true)
				net.Backward()
				net.Step(sgd)
			}
			before := ob.Counts["Alloc"]
			for i := 0; i < 4; i++ {
				step()
			}
			if got := ob.Counts["Alloc"] - before; got != 0 {
				t.Errorf("%d backend allocations in 4 training steps", got)
			}
		})
	}
}

// TestCloseFreesEverything: after a training step, Close gives back every
// tensor the network allocated.
func TestCloseFreesEverything(t *testing.T) {
	for _, mode := range []layers.Recompute{layers.StoreAll, layers.RecomputeBN, layers.RecomputeUnit} {
		closeFreesEverything(t, mode)
	}
}

func closeFreesEverything(t *testing.T, recompute layers.Recompute) {
	cfg := mustParse(t, "wrn-10-2")
	cfg.SD, cfg.RoR = SDLinear, 3
	ob := opcount.New(newCPU())
	net := newRecomputing(t, cfg, ob, recompute, 2, 8)
	net.SetTraining(true)
	r := rand.New(rand.NewPCG(1, 1))
	bt := randomBatch(t, ob, r, 2, 8, cfg.Classes)
	meanLoss(t, net, bt, true)
	net.Backward()
	net.Step(sgd)
	allocs := ob.Counts["Alloc"] - 2 // the batch's two tensors are the test's
	net.Close()
	if frees := ob.Counts["Free"]; frees != allocs {
		t.Errorf("Close freed %d tensors, the network allocated %d", frees, allocs)
	}
	net.Close() // idempotent
	if frees := ob.Counts["Free"]; frees != allocs {
		t.Errorf("a second Close freed %d more", frees-allocs)
	}
}

// TestDepthMaskChanges: a network's gradients for a mask do not depend on
// the masks of earlier steps (a unit dropped last step and active now runs
// its backward pass). Weights do not move between the two passes here.
func TestDepthMaskChanges(t *testing.T) {
	cfg := mustParse(t, "resnet-14")
	cfg.SD, cfg.SDPL = SDLinear, 0.5
	b := newCPU()
	grads := func(masks ...func(int) bool) []float32 {
		net := buildNet(t, cfg, b, 2, 8)
		defer net.Close()
		net.SetTraining(true)
		bt := randomBatch(t, b, rand.New(rand.NewPCG(1, 2)), 2, 8, cfg.Classes)
		for _, m := range masks {
			for i, u := range net.Units {
				u.Active = m(i)
			}
			meanLoss(t, net, bt, true)
			net.Backward()
		}
		return download(t, b, net.Params.Grads())
	}
	even := func(i int) bool { return i%2 == 0 }
	odd := func(i int) bool { return i%2 == 1 }
	want, got := grads(odd), grads(even, odd)
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("gradient %d: %v after an earlier mask, %v without", i, got[i], want[i])
		}
	}
}
