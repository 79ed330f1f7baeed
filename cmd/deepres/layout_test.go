package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/internal/gputest"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opcount"
	"github.com/deepres/deepres/train"
)

// TestLayoutFlag: --layout on train, eval and bench (issue 22): a bad
// value is a usage error; an nhwc run is recorded as such (checkpoint
// and metrics header), resumes in nhwc without the flag and in nchw with
// it, saying so; its checkpoint evaluates in either layout to the same
// accuracy; bench --json reports the layout, with the same bytes per
// step in both.
func TestLayoutFlag(t *testing.T) {
	for _, args := range [][]string{
		{"train", "--model", "resnet-8"},
		{"bench", "--model", "resnet-8"},
		{"eval", "--checkpoint", "nowhere.safetensors"},
	} {
		if _, stderr, code := run(t, append(args, "--layout", "chwn")...); code != 2 || !strings.Contains(stderr, "--layout: want nchw, nhwc or auto") {
			t.Errorf("%v --layout chwn: exit %d, %q", args, code, stderr)
		}
	}
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 4)
	_, stderr, code := run(t, "train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu",
		"--epochs", "2", "--checkpoint-every", "1", "--batch-size", "4", "--precision", "bf16", "--layout", "nhwc", "--out", out)
	if code != 0 || !strings.Contains(stderr, "--layout nhwc") {
		t.Fatalf("train --layout nhwc: exit %d, want the layout said at start-up: %s", code, stderr)
	}
	if cfg, _, _, err := train.ReadRunConfig(out); err != nil || cfg.Layout != "nhwc" {
		t.Errorf("checkpoint records layout %q (%v), want nhwc", cfg.Layout, err)
	}
	if hdr := metricsHeader(t, out); hdr.Run.Layout != "nhwc" {
		t.Errorf("metrics header records layout %q, want nhwc", hdr.Run.Layout)
	}
	if _, stderr, code := run(t, "train", "--resume", out, "--device", "cpu"); code != 0 || !strings.Contains(stderr, "--layout nhwc") || strings.Contains(stderr, "stores the activations") {
		t.Errorf("resume without --layout: exit %d, want the run's nhwc, unchanged: %s", code, stderr)
	}
	if _, stderr, code := run(t, "train", "--resume", out, "--device", "cpu", "--layout", "nchw"); code != 0 || !strings.Contains(stderr, "--layout nchw stores the activations nchw from step") || !strings.Contains(stderr, "--layout nchw)") {
		t.Errorf("resume --layout nchw: exit %d, want the change said: %s", code, stderr)
	}
	ckpt := filepath.Join(out, "last.safetensors")
	var evals [2]string
	for i, l := range []string{"nchw", "nhwc"} {
		stdout, stderr, code := run(t, "eval", "--checkpoint", ckpt, "--dataset", "folder", "--data", data, "--split", "train", "--device", "cpu", "--precision", "bf16", "--layout", l, "--json")
		if code != 0 || !strings.Contains(stdout, `"accuracy"`) {
			t.Errorf("eval --layout %s: exit %d: %s %s", l, code, stdout, stderr)
		}
		evals[i] = stdout
	}
	if evals[0] != evals[1] {
		t.Errorf("eval differs by layout on the CPU: nchw %s, nhwc %s", evals[0], evals[1])
	}
	var bytes [2]int64
	for i, l := range []string{"nchw", "nhwc"} {
		stdout, stderr, code := run(t, "bench", "--model", "resnet-8", "--batch-size", "2", "--steps", "1", "--warmup", "0", "--device", "cpu", "--precision", "bf16", "--layout", l, "--json")
		var res struct {
			Layout       string `json:"layout"`
			BytesPerStep int64  `json:"bytes_per_step"`
		}
		if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res.Layout != l {
			t.Errorf("bench --layout %s: exit %d, layout %q: %s %s", l, code, res.Layout, stdout, stderr)
		}
		bytes[i] = res.BytesPerStep
	}
	if bytes[0] != bytes[1] || bytes[0] == 0 {
		t.Errorf("bench bytes_per_step: nchw %d, nhwc %d; want equal", bytes[0], bytes[1])
	}
}

// TestAutoLayout: auto is nchw on the CPU, and, on a backend that is not
// the CPU reference and cannot store NHWC (the GPU backend can: TestLayoutOnGPU), nchw
// with a note for half precision; an explicit nhwc there is a usage error.
// opcount.Backend plays that backend: it does not pass layouts through.
func TestAutoLayout(t *testing.T) {
	cpu := cpuref.New(1)
	noNHWC := opcount.New(cpu)
	for _, tc := range []struct {
		b         ops.Backend
		precision string
		want      ops.Layout
		note      bool
	}{
		{cpu, "bf16", ops.NCHW, false},
		{cpu, "fp32", ops.NCHW, false},
		{noNHWC, "fp32", ops.NCHW, false},
		{noNHWC, "bf16", ops.NCHW, true},
		{noNHWC, "fp16", ops.NCHW, true},
	} {
		l, note, err := resolveLayout(tc.b, "auto", tc.precision)
		if err != nil || l != tc.want || (note != "") != tc.note {
			t.Errorf("auto on %T in %s: %v, note %q, %v; want %v, note %t", tc.b, tc.precision, l, note, err, tc.want, tc.note)
		}
		if tc.note && !strings.Contains(note, "cannot store nhwc") {
			t.Errorf("auto's note does not say why: %q", note)
		}
	}
	_, _, err := resolveLayout(noNHWC, "nhwc", "bf16")
	var u usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "cannot store channels-last") {
		t.Errorf("nhwc on a backend without it: %v, want a usage error saying why", err)
	}
	if l, _, err := resolveLayout(cpu, "nhwc", "fp32"); err != nil || l != ops.NHWC {
		t.Errorf("nhwc on the CPU: %v, %v", l, err)
	}
}

// metricsHeader reads the first line of dir's metrics.jsonl.
func metricsHeader(t *testing.T, dir string) train.RunHeader {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	var hdr train.RunHeader
	if err := json.Unmarshal([]byte(line), &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr
}

// TestLayoutOnGPU: on a GPU (the simulator in CI) --layout auto stores
// bf16 and fp16 runs channels-last and float32 runs NCHW, and --layout
// nhwc a float32 run channels-last: said at start-up and recorded in the
// metrics header (start-up names the layout when it is not nchw).
func TestLayoutOnGPU(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 4)
	for _, c := range []struct{ precision, layout, want string }{
		{"bf16", "auto", "nhwc"}, {"fp16", "auto", "nhwc"}, {"fp32", "auto", "nchw"}, {"fp32", "nhwc", "nhwc"},
	} {
		out := filepath.Join(dir, c.precision+"-"+c.layout)
		_, stderr, code := run(t, "train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cuda",
			"--steps", "2", "--batch-size", "4", "--precision", c.precision, "--layout", c.layout, "--out", out)
		if code == 1 && strings.Contains(stderr, "libcuda.so.1") {
			gputest.Skip(t, "no GPU: %s", stderr)
		}
		if code != 0 || strings.Contains(stderr, "--layout nhwc") != (c.want == "nhwc") {
			t.Errorf("train --precision %s --layout %s on cuda: exit %d, want %s (start-up names a layout other than nchw): %s", c.precision, c.layout, code, c.want, stderr)
			continue
		}
		if hdr := metricsHeader(t, out); hdr.Run.Layout != c.want {
			t.Errorf("--precision %s --layout %s: metrics header records layout %q, want %s", c.precision, c.layout, hdr.Run.Layout, c.want)
		}
	}
}
