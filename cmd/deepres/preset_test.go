package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/train"
)

// Every preset's knobs are flags of train, reach the run's configuration and
// are recorded in its checkpoint; a knob a preset sets but the network does
// not use (option A in a WRN) is no error, while the same flag typed is.
func TestPresetKnobsRecorded(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 4)
	for _, tc := range []struct {
		preset, model string
		check         func(c train.Config) string
	}{
		{"sd2016", "resnet-8", func(c train.Config) string {
			m := c.Model
			if c.Normalize != "per-pixel-global" || c.Pad != "zero" || c.Schedule.String() != "multistep:249e,374e" ||
				!c.Nesterov || m.OptionA != models.OptionAAvgPool || m.InitFan != models.FanIn || m.BNScaleInit != models.BNScaleUniform {
				return "not the stochastic-depth recipe"
			}
			return ""
		}},
		{"wrn2016", "wrn-10-1", func(c train.Config) string {
			if c.Pad != "reflect" || c.WD != 5e-4 || c.Schedule.String() != "multistep:59e,119e,159e@0.2" || c.Model.InitFan != models.FanIn {
				return "not the WRN recipe"
			}
			return ""
		}},
		{"ror2016", "wrn-10-1", func(c train.Config) string {
			if c.WD != 5e-4 || c.Normalize != "per-pixel-global" {
				return "not RoR's WRN recipe"
			}
			return ""
		}},
		{"he2016", "preact-resnet-8", func(c train.Config) string {
			if c.Pad != "zero" || c.Normalize != "per-channel" || c.Nesterov || c.Model.InitFan != models.FanOut {
				return "not He's recipe"
			}
			return ""
		}},
	} {
		t.Run(tc.preset+"/"+tc.model, func(t *testing.T) {
			out := filepath.Join(dir, tc.preset+tc.model)
			_, stderr, code := run(t, "train", "--model", tc.model, "--dataset", "folder", "--data", data, "--device", "cpu",
				"--preset", tc.preset, "--steps", "1", "--batch-size", "4", "--val-split", "2", "--out", out)
			if code != 0 {
				t.Fatalf("train: exit %d: %s", code, stderr)
			}
			f, err := checkpoint.Read(filepath.Join(out, "last.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			var c train.Config
			if err := json.Unmarshal([]byte(f.Meta["train"]), &c); err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(c); msg != "" {
				t.Errorf("recorded configuration %s: %+v", msg, c)
			}
			// metrics.jsonl's first line records the same configuration.
			raw, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(raw), "\n")
			var hdr train.RunHeader
			if err := json.Unmarshal([]byte(first), &hdr); err != nil {
				t.Fatalf("metrics.jsonl first line %q: %v", first, err)
			}
			if msg := tc.check(hdr.Run); msg != "" {
				t.Errorf("metrics.jsonl's header %s: %s", msg, first)
			}
		})
	}
	_, stderr, code := run(t, "train", "--model", "wrn-10-1", "--dataset", "folder", "--data", data, "--device", "cpu",
		"--option-a", "avgpool", "--steps", "1", "--out", filepath.Join(dir, "typed"))
	if code != 2 || !strings.Contains(stderr, "--option-a") {
		t.Errorf("--option-a typed for a WRN: exit %d: %s", code, stderr)
	}
	for _, bad := range [][]string{{"--pad", "mirror"}, {"--normalize", "zca"}, {"--init-fan", "both"}, {"--bn-scale-init", "two"}, {"--lr-schedule", "step:0.5@2"}} {
		args := append([]string{"train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu", "--steps", "1",
			"--out", filepath.Join(dir, "bad")}, bad...)
		if _, stderr, code := run(t, args...); code != 2 || !strings.Contains(stderr, bad[0]) {
			t.Errorf("%v: exit %d: %s", bad, code, stderr)
		}
	}
}
