package train

import (
	"context"
	"strings"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/internal/replay"
	"github.com/deepres/deepres/internal/runcheck"
	"github.com/deepres/deepres/internal/synth"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
)

// --cuda-graphs: auto runs eagerly on a backend that cannot capture, on
// refuses to, and a bad value is a configuration error.
func TestGraphModes(t *testing.T) {
	ds := synth.Dataset(32, 1)
	for _, tc := range []struct {
		mode    GraphMode
		wantErr string
	}{
		{"", ""},
		{GraphsAuto, ""},
		{GraphsOff, ""},
		{GraphsOn, "--cuda-graphs on: the cpu"},
		{"sometimes", `--cuda-graphs: "sometimes": want auto, on or off`},
	} {
		cfg := testConfig(t, "resnet-8", t.TempDir())
		cfg.Graphs = tc.mode
		tr, err := New(cfg, cpuref.New(1), ds, nil, nil, data.ComputeNormalization(ds))
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("mode %q: %v", tc.mode, err)
				continue
			}
			tr.Close()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("mode %q: error %v, want one containing %q", tc.mode, err, tc.wantErr)
		}
		if tr != nil {
			tr.Close()
		}
	}
}

// Stochastic depth is captured (its branches decided on the device); with
// dropout as well it is not: refused under on (a configuration error, so the
// CLI exits 2), eager under auto.
func TestGraphModeWithSD(t *testing.T) {
	cfg := testConfig(t, "resnet-8", t.TempDir())
	cfg.Model.SD = models.SDLinear
	cfg.Graphs = GraphsOn
	if err := cfg.Validate(); err != nil {
		t.Errorf("--cuda-graphs on with SD: %v", err)
	}
	cfg.Model, _ = models.Parse("wrn-10-2")
	cfg.Model.Dropout, cfg.Model.SD = 0.3, models.SDLinear
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "stochastic depth with dropout is not captured") {
		t.Errorf("--cuda-graphs on with SD and dropout: %v", err)
	}
	cfg.Graphs = GraphsAuto
	if err := cfg.Validate(); err != nil {
		t.Errorf("--cuda-graphs auto with SD and dropout: %v", err)
	}
	cfg.Model.SD, cfg.Graphs = models.SDOff, GraphsOn // dropout is captured (its seeds read from the device)
	if err := cfg.Validate(); err != nil {
		t.Errorf("--cuda-graphs on with dropout: %v", err)
	}
}

// TestCapturedTrainingIsBitwiseEager trains the same runs eagerly on the
// CPU reference and captured, on internal/replay's capture semantics over
// it (ops recorded, not run, at capture; stochastic depth's branches picked
// at each launch from the mask uploaded before it), and requires bitwise
// the same checkpoints and metrics: the trainer's whole graph path
// (warm-up step, capture, per-launch learning rate, dropout seeds and unit
// masks, the short last batch run eagerly between launches) without a GPU.
// gpu.TestGraphTrainingIsBitwiseEager runs the same on the device.
func TestCapturedTrainingIsBitwiseEager(t *testing.T) {
	for _, tc := range []struct {
		model  string
		set    func(*models.Config)
		recomp layers.Recompute
	}{
		{"resnet-14", func(c *models.Config) { c.SD = models.SDLinear }, layers.StoreAll},
		{"preact-resnet-14", func(c *models.Config) { c.SD, c.SDPL = models.SDUniform, 0.6 }, layers.RecomputeUnit},
		{"resnet-14", func(c *models.Config) { c.SD, c.RoR = models.SDLinear, 3 }, layers.RecomputeBN},
		{"wrn-10-2", func(c *models.Config) { c.Dropout = 0.3 }, layers.StoreAll},
	} {
		name := tc.model + "/" + tc.recomp.String()
		t.Run(name, func(t *testing.T) {
			eagerAndCaptured(t, tc.model, func(cfg *Config) {
				tc.set(&cfg.Model)
				cfg.Epochs, cfg.Recompute = 3, tc.recomp
			}, nil)
		})
	}
}

// sameRun compares two runs' last checkpoints tensor by tensor and their
// metrics' training figures, bitwise.
func sameRun(t *testing.T, a, b string) {
	t.Helper()
	runcheck.SameCheckpoints(t, a, b, "eager", "captured")
	ma, mb := readMetrics(t, a), readMetrics(t, b)
	if len(ma) != len(mb) || len(ma) == 0 {
		t.Fatalf("%d and %d lines of metrics", len(ma), len(mb))
	}
	for i := range ma {
		if ma[i].TrainLoss != mb[i].TrainLoss || ma[i].TrainError != mb[i].TrainError || ma[i].FirstConvGrad != mb[i].FirstConvGrad {
			t.Errorf("epoch %d: eager loss %v error %v grad %v, captured %v %v %v", ma[i].Epoch,
				ma[i].TrainLoss, ma[i].TrainError, ma[i].FirstConvGrad, mb[i].TrainLoss, mb[i].TrainError, mb[i].FirstConvGrad)
		}
	}
}

func TestParseGraphMode(t *testing.T) {
	for in, want := range map[string]GraphMode{"": GraphsAuto, "auto": GraphsAuto, "on": GraphsOn, "off": GraphsOff} {
		if got, err := ParseGraphMode(in); err != nil || got != want {
			t.Errorf("ParseGraphMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseGraphMode("ON"); err == nil {
		t.Error("ParseGraphMode(ON) accepted")
	}
}

// eagerAndCaptured trains model on synth.Dataset(40, 3) (batches of 16, 16,
// 8) for the configuration set makes (after testConfig), once eagerly on
// cpuref and once captured on internal/replay over cpuref, prepare (if any)
// running on each trainer before it starts; it requires 5 launches (9
// steps: the warm-up step and the three short batches run eagerly) and
// bitwise the same checkpoints and metrics, and returns both run folders.
func eagerAndCaptured(t *testing.T, model string, set func(*Config), prepare func(*Trainer, ops.Backend)) (eagerDir, graphDir string) {
	t.Helper()
	trainDS := synth.Dataset(40, 3)
	run := func(b ops.Backend, mode GraphMode) (string, *Trainer) {
		cfg := testConfig(t, model, t.TempDir())
		set(&cfg)
		cfg.Graphs = mode
		tr, err := New(cfg, b, trainDS, nil, nil, data.ComputeNormalization(trainDS))
		if err != nil {
			t.Fatal(err)
		}
		if prepare != nil {
			prepare(tr, b)
		}
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		return cfg.Out, tr
	}
	rb := replay.New(cpuref.New(1))
	eagerDir, _ = run(cpuref.New(1), GraphsOff)
	graphDir, tr := run(rb, GraphsOn)
	if tr.GraphLaunches() != 5 || rb.Launches != 5 {
		t.Fatalf("%d graph launches (%d on the backend), want 5", tr.GraphLaunches(), rb.Launches)
	}
	sameRun(t, eagerDir, graphDir)
	return eagerDir, graphDir
}
