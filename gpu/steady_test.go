package gpu_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
)

// deviceCounters reads the NVIDIA-library simulator's counters (the JSON
// file CUDASIM_STATS names, rewritten at every cuStreamSynchronize; see
// internal/cudasim/README.md). ok is false on a real GPU, which keeps none.
func deviceCounters(t *testing.T, path string) (c map[string]int64, ok bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Counters map[string]int64 `json:"counters"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s.Counters, true
}

// TestSteadyStepOnDevice: a warmed-up training step, run as train.Trainer
// runs it (inputs uploaded into tensors allocated once, statistics reduced
// on the device), makes no device allocation, no pinned allocation and at
// most one host synchronisation, counted by the driver itself, not by the
// backend's own bookkeeping. Needs the simulator's counters; on a real GPU
// it skips.
func TestSteadyStepOnDevice(t *testing.T) {
	stats := filepath.Join(t.TempDir(), "stats.json")
	t.Setenv("CUDASIM_STATS", stats)
	g := openFP32(t)
	for _, tc := range []struct {
		name      string
		recompute layers.Recompute
		adjust    func(*models.Config)
		fuse      bool
	}{
		{"resnet-20/sd/ror3", layers.StoreAll, func(c *models.Config) { c.SD, c.RoR = models.SDLinear, 3 }, false},
		{"resnet-20/sd/recompute-bn", layers.RecomputeBN, func(c *models.Config) { c.SD = models.SDLinear }, false},
		{"preact-resnet-20/recompute-unit", layers.RecomputeUnit, func(c *models.Config) {}, false},
		{"wrn-10-2/dropout", layers.StoreAll, func(c *models.Config) { c.Dropout = 0.3 }, false},
		// --fuse: the fused batch norm's own kernels allocate nothing per step either.
		{"resnet-20/sd/ror3/fused", layers.StoreAll, func(c *models.Config) { c.SD, c.RoR = models.SDLinear, 3 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model, _, _ := strings.Cut(tc.name, "/")
			cfg, err := models.Parse(model)
			if err != nil {
				t.Fatal(err)
			}
			tc.adjust(&cfg)
			const n, size = 8, 16
			net := trainingNet(t, cfg, g, tc.recompute, tc.fuse, n, size)
			x, err := g.Alloc(n, 3, size, size)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Free(x)
			labels, err := g.Alloc(n)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Free(labels)
			loss, err := g.Alloc(1)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Free(loss)
			r := rand.New(rand.NewPCG(1, 2))
			hx, hl := make([]float32, n*3*size*size), make([]float32, n)
			step := func() {
				for i := range hx {
					hx[i] = float32(r.NormFloat64())
				}
				for i := range hl {
					hl[i] = float32(r.IntN(cfg.Classes))
				}
				g.CopyIn(x, hx)
				g.CopyIn(labels, hl)
				net.DrawDepth(r)
				net.Forward(x)
				net.Loss(labels, true)
				net.Backward()
				net.Step(ops.SGDParams{LR: 0.02, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true})
				g.Reduce(loss, net.Losses(), ops.ReduceSum)
			}
			for range 2 {
				step()
			}
			if err := g.Sync(); err != nil {
				t.Fatal(err)
			}
			before, ok := deviceCounters(t, stats)
			if !ok {
				t.Skip("no device counters: not running on the simulator (scripts/cudasim)")
			}
			step()
			if err := g.Sync(); err != nil { // counted: one synchronisation is ours
				t.Fatal(err)
			}
			after, _ := deviceCounters(t, stats)
			d := func(k string) int64 { return after[k] - before[k] }
			// The input for the CUDA Graphs decision: what one step costs the host.
			keys := make([]string, 0, len(after))
			for k := range after {
				if d(k) != 0 {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			var line strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&line, " %s=%d", k, d(k))
			}
			t.Logf("one step (the test's own Sync included):%s", line.String())
			if d("allocs") != 0 || d("frees") != 0 || d("host_allocs") != 0 {
				t.Errorf("a warmed-up step made %d device allocations, %d frees, %d pinned allocations; want none",
					d("allocs"), d("frees"), d("host_allocs"))
			}
			if s := d("stream_syncs") - 1; s > 1 {
				t.Errorf("a warmed-up step synchronised with the host %d times, want at most 1", s)
			}
			if d("kernel_launches") == 0 {
				t.Error("no kernel launched in a training step: the counters are not counting")
			}
		})
	}
}
