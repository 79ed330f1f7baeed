package main

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/train"
)

// writeCIFAR writes a CIFAR-10 binary release of random images: perFile
// records in each of the five training files and in the test file.
func writeCIFAR(t *testing.T, dir string, perFile int, seed uint64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	files := []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}
	for _, f := range files {
		b := make([]byte, perFile*3073)
		for i := range perFile {
			rec := b[i*3073 : (i+1)*3073]
			rec[0] = byte(i % 10)
			for j := 1; j < len(rec); j++ {
				rec[j] = byte(r.IntN(256))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// meta reads a checkpoint's metadata.
func meta(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := checkpoint.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return f.Meta
}

// metricsLines returns metrics.jsonl's lines, each checked to be JSON.
func metricsLines(t *testing.T, dir string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("metrics.jsonl line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tiny are the flags of a tiny CPU run on a folder dataset of 16 images
// (2 steps an epoch at batch 8).
func tiny(data, out string, more ...string) []string {
	return append([]string{"train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu",
		"--batch-size", "8", "--out", out}, more...)
}

// A diverging run writes nothing over its checkpoints, says what exists,
// exits non-zero, and can be resumed with a lower rate through --override.
func TestDivergenceKeepsGoodCheckpoints(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 8)

	// Diverges at once: nothing to keep, and the message says so.
	fresh := filepath.Join(dir, "fresh")
	_, stderr, code := run(t, tiny(data, fresh, "--steps", "1", "--lr", "1e6")...)
	if code == 0 || !strings.Contains(stderr, "diverged") || !strings.Contains(stderr, "no checkpoint was written") {
		t.Errorf("--lr 1e6 --steps 1: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"last.safetensors", "best.safetensors"} {
		if exists(filepath.Join(fresh, f)) {
			t.Errorf("--lr 1e6 --steps 1 wrote %s", f)
		}
	}

	// Epoch 1 at the warm-up rate is good; epoch 2 at 1e6 diverges.
	out := filepath.Join(dir, "run")
	_, stderr, code = run(t, tiny(data, out, "--epochs", "3", "--lr", "1e6", "--warmup-steps", "2", "--warmup-lr", "0.01")...)
	if code != 1 || !strings.Contains(stderr, "holds step 2") || !strings.Contains(stderr, "--override lr=") {
		t.Fatalf("divergence in epoch 2: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"last.safetensors", "best.safetensors"} {
		if m := meta(t, filepath.Join(out, f)); m["step"] != "2" {
			t.Errorf("%s is at step %s after the divergence; want the good step 2", f, m["step"])
		}
	}
	if n := len(metricsLines(t, out)); n != 1 {
		t.Errorf("metrics.jsonl has %d lines; want the good epoch's only", n)
	}

	// Resume with a sane rate: recorded in the metrics and the checkpoint.
	_, stderr, code = run(t, "train", "--resume", out, "--override", "lr=0.01")
	if code != 0 || !strings.Contains(stderr, "--override lr=0.01 from step 2") {
		t.Fatalf("resume --override lr=0.01: exit %d: %s", code, stderr)
	}
	lines := metricsLines(t, out)
	if len(lines) != 3 || lines[1]["overrides"] == nil || lines[2]["overrides"] != nil {
		t.Errorf("metrics after the override: %v", lines)
	}
	var cfg train.Config
	if err := json.Unmarshal([]byte(meta(t, filepath.Join(out, "last.safetensors"))["train"]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.LR != 0.01 || len(cfg.Overrides) != 1 || cfg.Overrides[0] != (train.Override{Step: 2, Flag: "lr", Value: "0.01"}) {
		t.Errorf("checkpoint config after the override: lr %g, overrides %+v", cfg.LR, cfg.Overrides)
	}
	for _, bad := range [][]string{{"--override", "lr=NaN"}, {"--override", "wd=0"}, {"--override", "lr-schedule=multistep:5,3"}} {
		if _, stderr, code := run(t, append([]string{"train", "--resume", out}, bad...)...); code != 2 || !strings.Contains(stderr, "--override") {
			t.Errorf("resume %v: exit %d: %s", bad, code, stderr)
		}
	}
	if _, stderr, code := run(t, tiny(data, filepath.Join(dir, "x"), "--override", "lr=1")...); code != 2 || !strings.Contains(stderr, "--resume") {
		t.Errorf("--override without --resume: exit %d: %s", code, stderr)
	}
}

// SIGINT in the first epoch (best error still +Inf) leaves a checkpoint
// that resumes.
func TestInterruptInFirstEpochResumes(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeCIFAR(t, data, 200, 1) // 1000 training images: 1000 steps at batch 1
	cmd := exec.Command(binary, "train", "--model", "resnet-8", "--dataset", "cifar10", "--data", data, "--device", "cpu",
		"--batch-size", "1", "--epochs", "1", "--out", out)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() { // the start-up line comes just before training starts
		if strings.HasPrefix(sc.Text(), "deepres: resnet-8") {
			time.Sleep(300 * time.Millisecond)
			cmd.Process.Signal(os.Interrupt)
			break
		}
	}
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	cmd.Wait()
	if !strings.Contains(rest.String(), "--resume") {
		t.Fatalf("interrupt: %s", rest.String())
	}
	if m := meta(t, filepath.Join(out, "last.safetensors")); m["epoch"] != "0" || !strings.Contains(m["position"], `"Best":"+Inf"`) {
		t.Fatalf("the interrupt did not fall in the first epoch: %v", m["position"])
	}
	_, serr, code := run(t, "train", "--resume", out)
	if code != 0 || !strings.Contains(serr, "resuming") {
		t.Errorf("resume after an interrupt in epoch 1: exit %d: %s", code, serr)
	}
}
