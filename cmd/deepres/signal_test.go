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

// startLong starts a long tiny CPU run with stderr piped, and returns once
// its first progress line is read: training is under way.
func startLong(t *testing.T, out string) (*exec.Cmd, *os.File) {
	t.Helper()
	data := filepath.Join(filepath.Dir(out), "data")
	writeFolder(t, data, 4)
	cmd := exec.Command(binary, "train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu",
		"--epochs", "100000", "--batch-size", "4", "--out", out)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var seen strings.Builder
	buf := make([]byte, 1)
	for !strings.Contains(seen.String(), "epoch 1/") {
		if _, err := r.Read(buf); err != nil {
			t.Fatalf("no progress line: %v: %s", err, seen.String())
		}
		seen.Write(buf)
	}
	return cmd, r
}

// exitOf waits for cmd and returns its exit code, or 128+N when signal N
// killed it (as a shell reports it).
func exitOf(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return 128 + int(ws.Signal())
			}
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("the run did not stop in 2 minutes")
		return -1
	}
}

// A closed stderr pipe (deepres train 2>&1 | head -1) and SIGHUP (a closed
// terminal) stop the run like SIGTERM: checkpoint, exit 75.
func TestPipeAndHangupCheckpoint(t *testing.T) {
	for _, how := range []string{"closed pipe", "SIGHUP"} {
		t.Run(how, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			cmd, r := startLong(t, out)
			if how == "SIGHUP" {
				cmd.Process.Signal(syscall.SIGHUP)
				go func() {
					b := make([]byte, 4096)
					for {
						if _, err := r.Read(b); err != nil {
							return
						}
					}
				}()
			} else {
				r.Close()
			}
			if code := exitOf(t, cmd); code != 75 {
				t.Errorf("exit %d, want 75", code)
			}
			if !exists(filepath.Join(out, "last.safetensors")) {
				t.Errorf("no checkpoint")
			}
		})
	}
}

// SIGQUIT dumps the goroutines and exits with a code of its own, not 2
// ("bad command line").
func TestQuitExitCode(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	cmd, r := startLong(t, out)
	var dump strings.Builder
	done := make(chan bool)
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			dump.Write(b[:n])
			if err != nil {
				close(done)
				return
			}
		}
	}()
	cmd.Process.Signal(syscall.SIGQUIT)
	code := exitOf(t, cmd)
	<-done
	if code != 131 || !strings.Contains(dump.String(), "goroutine ") {
		t.Errorf("SIGQUIT: exit %d, want 131 with a goroutine dump: %.2000s", code, dump.String())
	}
}

// SIGTERM and SIGINT while the data is loading (here: blocked reading a
// FIFO) exit 75 ("resume me": nothing was written), not 143.
func TestInterruptWhileLoading(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			writeCIFAR(t, data, 1, 1)
			fifo := filepath.Join(data, "data_batch_1.bin")
			os.Remove(fifo)
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			cmd := exec.Command(binary, "train", "--model", "resnet-8", "--dataset", "cifar10", "--data", data, "--device", "cpu",
				"--steps", "1", "--out", filepath.Join(dir, "run"))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond) // blocked opening the FIFO
			cmd.Process.Signal(sig)
			if code := exitOf(t, cmd); code != 75 || !strings.Contains(stderr.String(), "again") {
				t.Errorf("%v while loading: exit %d, want 75 and the advice to run again: %s", sig, code, stderr.String())
			}
		})
	}
}

// Under nohup (SIGHUP ignored when deepres starts) a hang-up does not stop
// the run; SIGTERM still does, at a checkpoint.
func TestNohupIgnoresHangup(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 4)
	cmd := exec.Command("bash", "-c", `trap '' HUP; exec "$@"`, "bash", binary, "train", "--model", "resnet-8", "--dataset", "folder",
		"--data", data, "--device", "cpu", "--epochs", "100000", "--batch-size", "4", "--out", out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(2 * time.Minute)
	for !exists(filepath.Join(out, "last.safetensors")) {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint in 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	cmd.Process.Signal(syscall.SIGHUP)
	select {
	case err := <-done:
		t.Fatalf("SIGHUP under nohup stopped the run: %v", err)
	case <-time.After(2 * time.Second):
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := <-done
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 75 {
		t.Errorf("SIGTERM after an ignored SIGHUP: %v, want exit 75", err)
	}
}
