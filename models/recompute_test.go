package models

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opcount"
)

// TestRecomputeIsExact trains every variant of the gradient check for three
// steps twice, storing every activation and recomputing units, and requires
// bitwise equal losses, gradients, weights and BN running statistics: the
// CPU reference is deterministic, so recomputation must change nothing.
func TestRecomputeIsExact(t *testing.T) {
	for _, tc := range gradCases() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, tc.model)
			if tc.adjust != nil {
				tc.adjust(&cfg)
			}
			const n, size, steps = 4, 8, 3
			b := cpuref.New(0)
			nets := [2]*Network{}
			for i, recompute := range []bool{false, true} {
				net, err := New(cfg, b)
				if err != nil {
					t.Fatal(err)
				}
				net.Env.Recompute = recompute
				if err := net.SetupSize(n, size); err != nil {
					t.Fatal(err)
				}
				if err := net.SetupOptimizer(); err != nil {
					t.Fatal(err)
				}
				net.Init(1)
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
					meanLoss(t, net, bt, true)
					losses[i] = download(t, b, net.Losses())
					net.Backward()
					net.Step(sgd)
				}
				same(t, s, "losses", losses[0], losses[1])
				same(t, s, "gradients", download(t, b, nets[0].Params.Grads()), download(t, b, nets[1].Params.Grads()))
				same(t, s, "weights", download(t, b, nets[0].Params.Values()), download(t, b, nets[1].Params.Values()))
				for j, buf := range nets[0].Params.Buffers {
					same(t, s, buf.Name, download(t, b, buf.Value), download(t, b, nets[1].Params.Buffers[j].Value))
				}
			}
			// Evaluation mode runs through the shared buffers too.
			var logits [2][]float32
			for i, net := range nets {
				net.SetTraining(false)
				logits[i] = download(t, b, net.Forward(bt.x))
			}
			same(t, steps, "evaluation logits", logits[0], logits[1])
		})
	}
}

func same(t *testing.T, step int, what string, a, b []float32) {
	t.Helper()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: %s differ at %d: %v stored, %v recomputed", step, what, i, a[i], b[i])
		}
	}
}

// TestRecomputeSavesMemory measures the backend's peak memory over a
// training step of resnet-110 (batch 16, CIFAR's size) with and without
// recomputation. Without it each unit keeps four activations; with it, one
// (its output) plus a set of shared buffers per stage, so the activation
// memory must fall to well under half.
func TestRecomputeSavesMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("trains resnet-110 at batch 16 on the CPU")
	}
	cfg := mustParse(t, "resnet-110")
	var peak, params [2]int64
	for i, recompute := range []bool{false, true} {
		b := cpuref.New(0)
		net, err := New(cfg, b)
		if err != nil {
			t.Fatal(err)
		}
		net.Env.Recompute = recompute
		if err := net.Setup(16); err != nil {
			t.Fatal(err)
		}
		if err := net.SetupOptimizer(); err != nil {
			t.Fatal(err)
		}
		net.Init(1)
		net.SetTraining(true)
		bt := randomBatch(t, b, rand.New(rand.NewPCG(1, 1)), 16, 32, cfg.Classes)
		meanLoss(t, net, bt, true)
		net.Backward()
		net.Step(sgd)
		peak[i] = b.PeakBytes()
		// weights, gradients, momentum, and the batch itself
		params[i] = int64(4*3*net.Params.Count()) + int64(4*bt.n*(3*32*32+1))
		net.Close()
	}
	act := [2]float64{float64(peak[0] - params[0]), float64(peak[1] - params[1])}
	t.Logf("resnet-110 batch 16: peak %.1f MiB stored, %.1f MiB recomputed; activations %.1f → %.1f MiB (%.2fx)",
		mib(peak[0]), mib(peak[1]), act[0]/(1<<20), act[1]/(1<<20), act[1]/act[0])
	if act[1] > 0.4*act[0] {
		t.Errorf("recomputation keeps %.2fx the activation memory, want <= 0.4x", act[1]/act[0])
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// limited is a backend with a memory budget (frees are not credited back).
type limited struct {
	ops.Backend
	left int64
}

func (l *limited) Alloc(shape ...int) (ops.Tensor, error) {
	n := 4 * int64(ops.Shape(shape).Len())
	if n > l.left {
		return nil, fmt.Errorf("%d bytes: %w", n, ops.ErrOutOfMemory)
	}
	l.left -= n
	return l.Backend.Alloc(shape...)
}

// TestRecomputeFitsWhereStoringDoesNot: on a device too small for resnet-110
// at batch 16, Setup fails with an out-of-memory error that suggests
// recomputing, and recomputing fits.
func TestRecomputeFitsWhereStoringDoesNot(t *testing.T) {
	cfg := mustParse(t, "resnet-110")
	for _, recompute := range []bool{false, true} {
		b := &limited{Backend: cpuref.New(0), left: 100 << 20}
		net, err := New(cfg, b)
		if err != nil {
			t.Fatal(err)
		}
		net.Env.Recompute = recompute
		err = net.Setup(16)
		net.Close()
		switch {
		case recompute && err != nil:
			t.Errorf("recomputing: %v", err)
		case !recompute && (!errors.Is(err, ops.ErrOutOfMemory) || !strings.Contains(err.Error(), "--recompute")):
			t.Errorf("storing: got %v, want an out-of-memory error suggesting --recompute", err)
		}
	}
}

// TestRecomputeWork counts what a recomputing training step reruns: each
// unit's inside but the last module of its branch — both convolutions and
// the first BN of an original unit, the BN-ReLUs and first convolution of a
// pre-activation unit (plus its projection shortcut, where it has one).
func TestRecomputeWork(t *testing.T) {
	for _, tc := range []struct {
		model              string
		extraConv, extraBN func(units, projections int) int
	}{
		{"resnet-20", func(u, _ int) int { return 2 * u }, func(u, _ int) int { return u }},
		{"preact-resnet-20", func(u, p int) int { return u + p }, func(u, _ int) int { return 2 * u }},
	} {
		t.Run(tc.model, func(t *testing.T) {
			counts := map[bool]map[string]int{}
			var units, projections int
			for _, recompute := range []bool{false, true} {
				ob := opcount.New(newCPU())
				net, err := New(mustParse(t, tc.model), ob)
				if err != nil {
					t.Fatal(err)
				}
				net.Env.Recompute = recompute
				if err := net.SetupSize(2, 8); err != nil {
					t.Fatal(err)
				}
				net.Init(1)
				net.SetTraining(true)
				bt := randomBatch(t, ob, rand.New(rand.NewPCG(1, 1)), 2, 8, 10)
				ob.Reset()
				meanLoss(t, net, bt, true)
				net.Backward()
				counts[recompute] = maps.Clone(ob.Counts)
				units, projections = len(net.Units), 0
				for _, u := range net.Units {
					if u.ShortFromPre {
						projections++
					}
				}
			}
			for op, extra := range map[string]int{
				"ConvForward":              tc.extraConv(units, projections),
				"BatchNormForwardTraining": tc.extraBN(units, projections),
			} {
				if got := counts[true][op] - counts[false][op]; got != extra {
					t.Errorf("%s: %d more when recomputing, want %d", op, got, extra)
				}
			}
		})
	}
}
