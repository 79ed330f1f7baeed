package train

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/internal/runcheck"
	"github.com/deepres/deepres/internal/synth"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
)

func testConfig(t *testing.T, model string, out string) Config {
	t.Helper()
	mc, err := models.Parse(model)
	if err != nil {
		t.Fatal(err)
	}
	c := Default()
	c.Model, c.BatchSize, c.Epochs, c.Out, c.Workers = mc, 16, 2, out, 2
	c.Schedule = Schedule{Kind: "step", Fractions: []float64{0.5}}
	c.WarmupSteps, c.Nesterov = 2, true
	return c
}

func newTrainer(t *testing.T, cfg Config, trainDS, testDS *data.Dataset) *Trainer {
	t.Helper()
	tr, err := New(cfg, cpuref.New(2), trainDS, nil, testDS, data.ComputeNormalization(trainDS))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestResumeIsExact interrupts a run mid-epoch, resumes it from its
// checkpoint, and requires the final weights, BN statistics and momentum
// to be bitwise those of an uninterrupted run — with shuffling,
// augmentation, stochastic depth, dropout and warm-up all in play, and the
// resumed part recomputing activations.
func TestResumeIsExact(t *testing.T) {
	trainDS, testDS := synth.Dataset(80, 1), synth.Dataset(20, 2)
	mc, err := models.Parse("wrn-10-2")
	if err != nil {
		t.Fatal(err)
	}
	mc.SD, mc.SDPL, mc.Dropout, mc.RoR = models.SDLinear, 0.5, 0.3, 3
	dirA, dirB := t.TempDir(), t.TempDir()
	cfgA := testConfig(t, "wrn-10-2", dirA)
	cfgA.Model = mc
	a := newTrainer(t, cfgA, trainDS, testDS)
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	cfgB := cfgA
	cfgB.Out = dirB
	b := newTrainer(t, cfgB, trainDS, testDS)
	ctx, cancel := context.WithCancel(context.Background())
	b.Progress = func(p Progress) {
		if p.Step == 7 { // epoch 2 of 5-batch epochs, mid-epoch
			cancel()
		}
	}
	if err := b.Run(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run returned %v, want ErrInterrupted", err)
	}
	// The resumed part recomputes activations instead of storing them: a
	// memory setting, which must not change a bit of the run.
	cfgC := cfgB
	cfgC.Recompute = layers.RecomputeUnit
	c := newTrainer(t, cfgC, trainDS, testDS)
	if c.Net.Env.Recompute != layers.RecomputeUnit {
		t.Fatal("Config.Recompute did not reach the network")
	}
	if err := c.Resume(dirB); err != nil {
		t.Fatal(err)
	}
	if c.Position() != 7 {
		t.Fatalf("resumed at step %d, want 7", c.Position())
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	runcheck.SameCheckpoints(t, dirA, dirB, "uninterrupted", "resumed")
	// the metrics of the resumed epoch match too
	ma, mb := readMetrics(t, dirA), readMetrics(t, dirB)
	if len(ma) != 2 || len(mb) != 2 {
		t.Fatalf("metrics lines: %d and %d, want 2", len(ma), len(mb))
	}
	for i := range ma {
		if ma[i].TrainLoss != mb[i].TrainLoss || *ma[i].TestError != *mb[i].TestError {
			t.Errorf("epoch %d metrics differ: %+v vs %+v", i+1, ma[i], mb[i])
		}
	}
}

func readMetrics(t *testing.T, dir string) []Metrics {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var hdr RunHeader
	if err := json.Unmarshal([]byte(lines[0]), &hdr); err != nil || hdr.Run.Model.Name == "" {
		t.Fatalf("metrics.jsonl's first line is not the run's header: %q (%v)", lines[0], err)
	}
	var out []Metrics
	for _, line := range lines[1:] {
		var m Metrics
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestRunWritesCheckpointsAndLearns trains resnet-8 on the synthetic
// classes and checks the run folder: metrics per epoch, PyTorch-style names,
// momentum, best checkpoint, and that the loss went down.
func TestRunWritesCheckpointsAndLearns(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, "resnet-8", dir)
	cfg.Epochs, cfg.LR = 4, 0.05
	tr := newTrainer(t, cfg, synth.Dataset(96, 3), synth.Dataset(32, 4))
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := readMetrics(t, dir)
	if len(m) != 4 {
		t.Fatalf("%d metrics lines, want 4", len(m))
	}
	if m[3].TrainLoss >= m[0].TrainLoss {
		t.Errorf("train loss did not fall: %g → %g", m[0].TrainLoss, m[3].TrainLoss)
	}
	if m[0].FirstConvGrad <= 0 || m[0].ExpectedDepth != 3 || m[0].LR != 0.05 {
		t.Errorf("epoch metrics: %+v", m[0])
	}
	if m[3].LR != 0.005 {
		t.Errorf("lr after the step at half the run is %g, want 0.005", m[3].LR)
	}
	f, err := checkpoint.Read(filepath.Join(dir, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer2.0.bn2.bias", "fc.weight", "fc.bias", MomentumPrefix + "fc.weight"} {
		if _, ok := f.Tensors[name]; !ok {
			t.Errorf("checkpoint lacks %s", name)
		}
	}
	if f.Meta["model_name"] != "resnet-8" || f.Meta["step"] != "24" {
		t.Errorf("metadata: %v", f.Meta)
	}
	if _, err := os.Stat(filepath.Join(dir, "best.safetensors")); err != nil {
		t.Error(err)
	}
}

// TestNonFiniteLossStops: a learning rate that blows the weights up ends the
// run with an error naming the step, keeping the last good checkpoint.
func TestNonFiniteLossStops(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, "resnet-8", dir)
	cfg.LR, cfg.WarmupSteps, cfg.CheckpointEvery = 1e30, 0, 1
	tr := newTrainer(t, cfg, synth.Dataset(32, 5), nil)
	err := tr.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "at step") {
		t.Fatalf("got %v, want a non-finite loss error naming the step", err)
	}
}

func TestConfigValidation(t *testing.T) {
	good := testConfig(t, "resnet-8", "out")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.BatchSize = 0 },
		func(c *Config) { c.Epochs, c.Steps = 0, 0 },
		func(c *Config) { c.LR = 0 },
		func(c *Config) { c.Momentum = 1 },
		func(c *Config) { c.Momentum, c.Nesterov = 0, true },
		func(c *Config) { c.Out = "" },
		func(c *Config) { c.Model.RoR = 4 },
	} {
		c := good
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
	for _, tc := range []struct {
		preset, dataset, family string
		want                    map[string]string
	}{
		{"he2016", "cifar10", "resnet", map[string]string{"steps": "64000", "warmup-steps": "400", "nesterov": "false"}},
		{"ror2016", "cifar10", "wrn", map[string]string{"wd": "5e-4", "epochs": "500", "nesterov": "true"}},
		{"sd2016", "svhn", "resnet", map[string]string{"epochs": "50", "augment": "false"}},
		// Stochastic_Depth main.lua: 0.01 from 1-based epoch 250, 0.001 from 375.
		{"sd2016", "cifar10", "resnet", map[string]string{"epochs": "500", "lr-schedule": "multistep:249e,374e", "val-split": "5000",
			"normalize": "per-pixel-global", "pad": "zero", "init-fan": "in", "bn-scale-init": "uniform", "option-a": "avgpool"}},
		{"wrn2016", "cifar10", "wrn", map[string]string{"epochs": "200", "lr-schedule": "multistep:59e,119e,159e@0.2", "wd": "5e-4",
			"nesterov": "true", "pad": "reflect", "init-fan": "in"}},
		{"he2016", "cifar10", "preact-resnet", map[string]string{"normalize": "per-channel", "pad": "zero", "init-fan": "out", "val-split": "0"}},
	} {
		got, err := Preset(tc.preset, tc.dataset, tc.family)
		if err != nil {
			t.Fatalf("%s: %v", tc.preset, err)
		}
		set := map[string]string{}
		for _, f := range got {
			set[f.Flag] = f.Value
		}
		for k, v := range tc.want {
			if set[k] != v {
				t.Errorf("%s on %s/%s: --%s = %q, want %q", tc.preset, tc.dataset, tc.family, k, set[k], v)
			}
		}
	}
	if _, err := Preset("nope", "cifar10", "resnet"); err == nil {
		t.Error("unknown preset accepted")
	}
}
