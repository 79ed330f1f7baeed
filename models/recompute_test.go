package models

import (
	"errors"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opcount"
)

var recomputeModes = []layers.Recompute{layers.StoreAll, layers.RecomputeBN, layers.RecomputeUnit}

// newRecomputing builds cfg on b for batches of n size×size images with the
// given recompute mode, initialised from seed 1.
func newRecomputing(t testing.TB, cfg Config, b ops.Backend, mode layers.Recompute, n, size int) *Network {
	t.Helper()
	return newNetWith(t, cfg, b, n, size, func(e *layers.Env) { e.Recompute = mode })
}

// newNetWith builds cfg on b for batches of n size×size images, with its
// momentum, set choosing the Env's modes (recompute, fusion, storage type,
// layout) first, initialised from seed 1.
func newNetWith(t testing.TB, cfg Config, b ops.Backend, n, size int, set func(e *layers.Env)) *Network {
	t.Helper()
	net, err := New(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	set(net.Env)
	if err := net.SetupSize(n, size); err != nil {
		t.Fatal(err)
	}
	if err := net.SetupOptimizer(); err != nil {
		t.Fatal(err)
	}
	net.Init(1)
	return net
}

// TestRecomputeIsExact trains every variant of the gradient check for three
// steps in every recompute mode and requires bitwise equal losses,
// gradients, weights and BN running statistics: the CPU reference is
// deterministic, so recomputation must change nothing.
func TestRecomputeIsExact(t *testing.T) {
	for _, tc := range gradCases() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, tc.model)
			if tc.adjust != nil {
				tc.adjust(&cfg)
			}
			const n, size, steps = 4, 8, 3
			b := cpuref.New(0)
			var nets []*Network
			for _, mode := range recomputeModes {
				net := newRecomputing(t, cfg, b, mode, n, size)
				net.SetTraining(true)
				net.Env.DropoutSeed = 99
				nets = append(nets, net)
			}
			r := rand.New(rand.NewPCG(7, 8))
			bt := randomBatch(t, b, r, n, size, cfg.Classes)
			for s := 0; s < steps; s++ {
				seed := r.Uint64()
				var losses [][]float32
				for _, net := range nets {
					if tc.mask != nil {
						for j, u := range net.Units {
							u.Active = tc.mask(j + s)
						}
					} else {
						net.DrawDepth(rand.New(rand.NewPCG(seed, 1)))
					}
					meanLoss(t, net, bt, true)
					losses = append(losses, download(t, b, net.Losses()))
					net.Backward()
					net.Step(sgd)
				}
				for i, net := range nets[1:] {
					mode := net.Env.Recompute
					same(t, s, mode, "losses", losses[0], losses[i+1])
					same(t, s, mode, "gradients", download(t, b, nets[0].Params.Grads()), download(t, b, net.Params.Grads()))
					same(t, s, mode, "weights", download(t, b, nets[0].Params.Values()), download(t, b, net.Params.Values()))
					for j, buf := range nets[0].Params.Buffers {
						same(t, s, mode, buf.Name, download(t, b, buf.Value), download(t, b, net.Params.Buffers[j].Value))
					}
				}
			}
			// Evaluation mode runs through the shared buffers too.
			var logits [][]float32
			for _, net := range nets {
				net.SetTraining(false)
				logits = append(logits, download(t, b, net.Forward(bt.x)))
			}
			for i, net := range nets[1:] {
				same(t, steps, net.Env.Recompute, "evaluation logits", logits[0], logits[i+1])
			}
		})
	}
}

func same(t *testing.T, step int, mode layers.Recompute, what string, a, b []float32) {
	t.Helper()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: %s differ at %d: %v stored, %v with --recompute %s", step, what, i, a[i], b[i], mode)
		}
	}
}

// TestRecomputeSavesMemory measures the backend's peak memory over a
// training step (batch 16, CIFAR's size) in each mode. Stored, each basic
// unit keeps four activations; RecomputeBN keeps three of an original unit
// (both conv outputs and the sum) and two of a pre-activation unit (the
// first conv output and the sum); RecomputeUnit one, plus a set of shared
// buffers per stage.
func TestRecomputeSavesMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two 110-layer networks at batch 16 on the CPU")
	}
	for _, tc := range []struct {
		model    string
		bn, unit float64 // most activation memory allowed, relative to storing all
	}{
		{"resnet-110", 0.85, 0.4},
		{"preact-resnet-110", 0.6, 0.4},
	} {
		t.Run(tc.model, func(t *testing.T) {
			cfg := mustParse(t, tc.model)
			act := map[layers.Recompute]float64{}
			for _, mode := range recomputeModes {
				b := cpuref.New(0)
				net := newRecomputing(t, cfg, b, mode, 16, 32)
				net.SetTraining(true)
				bt := randomBatch(t, b, rand.New(rand.NewPCG(1, 1)), 16, 32, cfg.Classes)
				meanLoss(t, net, bt, true)
				net.Backward()
				net.Step(sgd)
				// less weights, gradients, momentum and the batch itself
				act[mode] = float64(b.PeakBytes() - int64(4*3*net.Params.Count()) - int64(4*bt.n*(3*32*32+1)))
				net.Close()
			}
			bn, unit := act[layers.RecomputeBN]/act[layers.StoreAll], act[layers.RecomputeUnit]/act[layers.StoreAll]
			t.Logf("%s batch 16: activations %.1f MiB stored, %.2fx with bn, %.2fx with unit", tc.model, act[layers.StoreAll]/(1<<20), bn, unit)
			if bn > tc.bn || unit > tc.unit {
				t.Errorf("activation memory %.2fx (bn) and %.2fx (unit) of storing all, want <= %.2f and %.2f", bn, unit, tc.bn, tc.unit)
			}
		})
	}
}

// TestRecomputeFitsWhereStoringDoesNot: on a device too small for resnet-110
// at batch 16, Setup fails with an out-of-memory error that suggests
// recomputing, and recomputing units fits.
func TestRecomputeFitsWhereStoringDoesNot(t *testing.T) {
	cfg := mustParse(t, "resnet-110")
	for _, mode := range []layers.Recompute{layers.StoreAll, layers.RecomputeUnit} {
		b := opcount.New(cpuref.New(0))
		b.Limit = 100 << 20
		net, err := New(cfg, b)
		if err != nil {
			t.Fatal(err)
		}
		net.Env.Recompute = mode
		err = net.Setup(16)
		net.Close()
		switch {
		case mode == layers.RecomputeUnit && err != nil:
			t.Errorf("recomputing units: %v", err)
		case mode == layers.StoreAll && (!errors.Is(err, ops.ErrOutOfMemory) || !strings.Contains(err.Error(), "--recompute")):
			t.Errorf("storing: got %v, want an out-of-memory error suggesting --recompute", err)
		}
	}
}

// TestBuildPicksWhatFits: with RecomputeAuto, Build sets up the first of
// off, bn and unit that fits in the device's memory, and fails with an
// out-of-memory error when none does.
func TestBuildPicksWhatFits(t *testing.T) {
	cfg := mustParse(t, "resnet-56")
	const batch = 16
	need := map[layers.Recompute]int64{}
	for _, mode := range recomputeModes {
		b := opcount.New(cpuref.New(0))
		net, err := Build(cfg, b, batch, mode, true)
		if err != nil {
			t.Fatal(err)
		}
		need[mode] = b.Live()
		net.Close()
	}
	if !(need[layers.RecomputeUnit] < need[layers.RecomputeBN] && need[layers.RecomputeBN] < need[layers.StoreAll]) {
		t.Fatalf("memory at set-up %v: want unit < bn < off", need)
	}
	for _, tc := range []struct {
		limit int64
		want  layers.Recompute
	}{
		{need[layers.StoreAll], layers.StoreAll},
		{need[layers.StoreAll] - 1, layers.RecomputeBN},
		{need[layers.RecomputeBN] - 1, layers.RecomputeUnit},
		{need[layers.RecomputeUnit] - 1, -1},
	} {
		b := opcount.New(cpuref.New(0))
		b.Limit = tc.limit
		net, err := Build(cfg, b, batch, layers.RecomputeAuto, true)
		switch {
		case tc.want < 0 && !errors.Is(err, ops.ErrOutOfMemory):
			t.Errorf("limit %d: got %v, want an out-of-memory error", tc.limit, err)
		case tc.want >= 0 && err != nil:
			t.Errorf("limit %d: %v", tc.limit, err)
		case tc.want >= 0 && net.Env.Recompute != tc.want:
			t.Errorf("limit %d: picked %s, want %s", tc.limit, net.Env.Recompute, tc.want)
		}
		if net != nil {
			net.Close()
		}
		if b.Live() != 0 {
			t.Errorf("limit %d: %d bytes left allocated", tc.limit, b.Live())
		}
	}
}

// TestRecomputeWork counts what a recomputing training step reruns. With
// RecomputeBN no convolution runs twice; with RecomputeUnit an original
// unit reruns both convolutions, a pre-activation unit its first (and its
// projection shortcut, where it has one). Neither reruns the branch's last
// BN of an original unit.
func TestRecomputeWork(t *testing.T) {
	type extra func(units, projections int) int
	for _, tc := range []struct {
		model       string
		mode        layers.Recompute
		conv, bnFwd extra
	}{
		{"resnet-20", layers.RecomputeUnit, func(u, _ int) int { return 2 * u }, func(u, _ int) int { return u }},
		{"preact-resnet-20", layers.RecomputeUnit, func(u, p int) int { return u + p }, func(u, _ int) int { return 2 * u }},
		{"resnet-20", layers.RecomputeBN, func(_, _ int) int { return 0 }, func(u, _ int) int { return u }},
		{"preact-resnet-20", layers.RecomputeBN, func(_, _ int) int { return 0 }, func(u, _ int) int { return 2 * u }},
	} {
		t.Run(tc.model+"/"+tc.mode.String(), func(t *testing.T) {
			counts := map[layers.Recompute]map[string]int{}
			var units, projections int
			for _, mode := range []layers.Recompute{layers.StoreAll, tc.mode} {
				ob := opcount.New(newCPU())
				net := newRecomputing(t, mustParse(t, tc.model), ob, mode, 2, 8)
				net.SetTraining(true)
				bt := randomBatch(t, ob, rand.New(rand.NewPCG(1, 1)), 2, 8, 10)
				ob.Reset()
				meanLoss(t, net, bt, true)
				net.Backward()
				counts[mode] = maps.Clone(ob.Counts)
				// A batch norm runs fused or not (Env.Fuse): count both.
				counts[mode]["BatchNormForwardTraining"] += counts[mode]["BatchNormAddReLUForwardTraining"]
				units, projections = len(net.Units), 0
				for _, u := range net.Units {
					if _, ok := u.Short.(*layers.Seq); ok { // a 1×1 projection
						projections++
					}
				}
			}
			for op, want := range map[string]int{
				"ConvForward":              tc.conv(units, projections),
				"BatchNormForwardTraining": tc.bnFwd(units, projections),
			} {
				if got := counts[tc.mode][op] - counts[layers.StoreAll][op]; got != want {
					t.Errorf("%s: %d more when recomputing, want %d", op, got, want)
				}
			}
		})
	}
}
