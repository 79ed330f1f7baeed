package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGKILLLoop kills a tiny CPU run with SIGKILL at least 30 times, at
// random moments (loading, training, evaluation, checkpoint writes) and at
// each of the writes that end an epoch (DEEPRES_TEST_KILL: before the
// metrics line, after it is synced, after best.safetensors, after
// last.safetensors), sometimes leaving what a kill in the middle of a write
// leaves (a torn metrics line, a half-written temporary checkpoint). After
// every kill no checkpoint may be ahead of metrics.jsonl; each time the
// run is resumed (or, with no checkpoint yet, started again with
// --overwrite), as run.sh does. At the end its checkpoints and
// metrics.jsonl (timings aside) must equal an uninterrupted run's.
// DEEPRES_KILL_SEED picks another random sequence.
func TestSIGKILLLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 30+ training processes")
	}
	seed := uint64(23)
	if s := os.Getenv("DEEPRES_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("DEEPRES_KILL_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (DEEPRES_KILL_SEED)", seed)
	r := rand.New(rand.NewPCG(seed, 0x23))
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	// Random labels: the test error wanders, so best.safetensors is
	// rewritten now and then, not only in the first epochs.
	writeCIFAR(t, data, 4, 1) // 20 training images: 3 steps an epoch at batch 8, the last one short
	fresh := []string{"train", "--model", "resnet-8", "--dataset", "cifar10", "--data", data, "--device", "cpu",
		"--batch-size", "8", "--epochs", "100", "--checkpoint-every", "2", "--lr", "0.05", "--out", out, "--overwrite"}

	// The uninterrupted run, at the same path (the checkpoint records it).
	if _, stderr, code := run(t, fresh...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, stderr)
	}
	ref := filepath.Join(dir, "ref")
	if err := os.Rename(out, ref); err != nil {
		t.Fatal(err)
	}

	points := []string{"metrics", "metrics-synced", "best", "last"}
	kills, pointKills, debris := 0, map[string]int{}, 0
	for kills < 30 {
		args := fresh
		if exists(filepath.Join(out, "last.safetensors")) {
			args = []string{"train", "--resume", out}
		} // else no checkpoint yet: start again (--overwrite)
		cmd := exec.Command(binary, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		point := ""
		switch {
		case kills < len(points): // each point once first (the first epoch always writes best.safetensors)
			point = points[kills]
		case r.IntN(2) == 0:
			point = points[r.IntN(len(points))]
		}
		if point != "" {
			cmd.Env = append(os.Environ(), fmt.Sprintf("DEEPRES_TEST_KILL=%s:1", point))
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// A timed kill, also the fallback of a point the run may not reach
		// again (best.safetensors once the error stops falling).
		wait := time.Duration(r.IntN(300)) * time.Millisecond
		switch point {
		case "": // a random moment
		case "best": // reached only when the error falls: a short wait, then a timed kill
			wait = 800 * time.Millisecond
		default: // reached within two epochs of the start
			wait = 10 * time.Second
		}
		var err error
		select {
		case err = <-done:
		case <-time.After(wait):
			cmd.Process.Signal(syscall.SIGKILL)
			err = <-done
			point = ""
		}
		if err == nil {
			t.Fatalf("the run finished after only %d kills; make it longer", kills)
		}
		ws, ok := err.(*exec.ExitError).Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("%v: %v, not killed: %s", args, err, stderr.String())
		}
		kills++
		if point != "" {
			pointKills[point]++
		}
		checkLogCoversCheckpoints(t, out)
		if r.IntN(4) == 0 && exists(out) { // what a kill in the middle of a write leaves
			debris++
			if r.IntN(2) == 0 {
				appendFile(t, filepath.Join(out, "metrics.jsonl"), `{"epoch":99,"step":`)
			} else {
				os.WriteFile(filepath.Join(out, fmt.Sprintf(".last.safetensors.tmp-%d", r.Uint32())), []byte("half a checkpoint"), 0o600)
			}
		}
	}
	_, stderr, code := run(t, "train", "--resume", out)
	if code != 0 {
		t.Fatalf("final resume: exit %d: %s", code, stderr)
	}
	t.Logf("%d SIGKILLs (%v at the epoch's writes, the rest at random moments), %d times with a torn write's debris", kills, pointKills, debris)
	for _, p := range points {
		if pointKills[p] == 0 {
			t.Errorf("no kill at %q: the hook did not fire", p)
		}
	}
	for _, f := range []string{"last.safetensors", "best.safetensors"} {
		a, _ := os.ReadFile(filepath.Join(ref, f))
		b, _ := os.ReadFile(filepath.Join(out, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs from the uninterrupted run's (%d and %d bytes)", f, len(a), len(b))
		}
	}
	if a, b := untimedMetrics(t, ref), untimedMetrics(t, out); a != b {
		t.Errorf("metrics.jsonl differs from the uninterrupted run's:\n%s\nwant:\n%s", b, a)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// checkLogCoversCheckpoints fails when a checkpoint in dir is ahead of
// metrics.jsonl: every epoch it covers must have its complete line.
func checkLogCoversCheckpoints(t *testing.T, dir string) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	have := map[int]bool{}
	for _, l := range strings.SplitAfter(string(b), "\n") {
		var m struct{ Epoch int }
		if strings.HasSuffix(l, "\n") && json.Unmarshal([]byte(l), &m) == nil {
			have[m.Epoch] = true
		}
	}
	for _, f := range []string{"last.safetensors", "best.safetensors"} {
		path := filepath.Join(dir, f)
		if !exists(path) {
			continue
		}
		epoch, err := strconv.Atoi(meta(t, path)["epoch"])
		if err != nil {
			t.Fatalf("%s: epoch: %v", path, err)
		}
		for e := 1; e <= epoch; e++ {
			if !have[e] {
				t.Fatalf("%s is at epoch %d, but metrics.jsonl has no line for epoch %d: a checkpoint ahead of the log", path, epoch, e)
			}
		}
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return // no log yet
	}
	defer f.Close()
	f.WriteString(s)
}

// untimedMetrics is dir/metrics.jsonl without the fields that measure time.
func untimedMetrics(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: %q: %v", dir, l, err)
		}
		delete(m, "img_per_s")
		delete(m, "seconds")
		j, _ := json.Marshal(m)
		sb.Write(append(j, '\n'))
	}
	return sb.String()
}
