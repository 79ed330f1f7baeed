package train

import (
	"strings"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/internal/synth"
	"github.com/deepres/deepres/models"
)

// --cuda-graphs: auto runs eagerly on a backend that cannot capture, on
// refuses to, and a bad value is a configuration error. (The captured step
// itself is tested on the device: gpu.TestGraphTrainingIsBitwiseEager.)
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

// What is not captured yet is refused under on (a configuration error, so
// the CLI exits 2) and runs eagerly under auto.
func TestGraphModeWithSD(t *testing.T) {
	cfg := testConfig(t, "resnet-8", t.TempDir())
	cfg.Model.SD = models.SDLinear
	cfg.Graphs = GraphsOn
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "stochastic depth is not captured") {
		t.Errorf("--cuda-graphs on with SD: %v", err)
	}
	cfg.Graphs = GraphsAuto
	if err := cfg.Validate(); err != nil {
		t.Errorf("--cuda-graphs auto with SD: %v", err)
	}
	cfg.Model, _ = models.Parse("wrn-10-2")
	cfg.Model.Dropout, cfg.Graphs = 0.3, GraphsOn // dropout is captured (its seeds read from the device)
	if err := cfg.Validate(); err != nil {
		t.Errorf("--cuda-graphs on with dropout: %v", err)
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
