package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptExitStatus stops a training run with SIGTERM, as Slurm does
// before preemption or the time limit: deepres must write its checkpoint and
// exit 75 (resume me), not 1 (failed), so that scripts/experiments/run.sh
// requeues the task instead of marking the row failed.
func TestInterruptExitStatus(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 4)
	cmd := exec.Command(binary, "train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu",
		"--epochs", "100000", "--batch-size", "4", "--out", out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// metrics.jsonl appears after the first epoch: the run is under way.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(out, "metrics.jsonl")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no epoch finished in 2 minutes: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 75 { // the number scripts rely on, not the constant
		t.Fatalf("SIGTERM: exit %d, want 75: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "deepres train --resume "+out) {
		t.Errorf("SIGTERM: no resume hint: %s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "last.safetensors")); err != nil {
		t.Errorf("SIGTERM: no checkpoint: %v", err)
	}
}
