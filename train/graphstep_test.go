package train

import (
	"strings"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/data"
)

// --cuda-graphs: auto runs eagerly on a backend that cannot capture, on
// refuses to, and a bad value is a configuration error. (The captured step
// itself is tested on the device: gpu.TestGraphTrainingIsBitwiseEager.)
func TestGraphModes(t *testing.T) {
	ds := synthetic(32, 1)
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
