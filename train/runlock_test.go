package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepres/deepres/internal/synth"
)

// TestRunLockCheck: a lock is its folder's until the folder is deleted;
// then, even when another run makes the folder again and locks it, Check
// says the first lock's process must not write there.
func TestRunLockCheck(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	first, err := LockRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if err := first.Check(); err != nil {
		t.Fatalf("Check of a held lock: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := first.Check(); !errors.Is(err, ErrFolderReplaced) {
		t.Fatalf("Check after the folder was removed: %v, want ErrFolderReplaced", err)
	}
	second, err := LockRun(dir)
	if err != nil {
		t.Fatalf("a new run in the re-made folder: %v", err)
	}
	defer second.Close()
	if err := first.Check(); !errors.Is(err, ErrFolderReplaced) {
		t.Fatalf("Check after another run took the folder: %v, want ErrFolderReplaced", err)
	}
	if err := second.Check(); err != nil {
		t.Fatalf("the new run's Check: %v", err)
	}
}

// TestTrainerStopsWhenFolderNotItsOwn: once Owner reports the folder is no
// longer the run's, the trainer writes nothing more into it (no metrics
// line, no checkpoint) and returns that error.
func TestTrainerStopsWhenFolderNotItsOwn(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, "resnet-8", dir)
	cfg.Epochs, cfg.CheckpointEvery = 3, 1
	tr := newTrainer(t, cfg, synth.Dataset(32, 5), nil)
	defer tr.Close()
	writes := 0
	tr.Owner = func() error {
		writes++
		if writes > 3 { // the header, epoch 1's metrics line and its checkpoint
			return ErrFolderReplaced
		}
		return nil
	}
	if err := tr.Run(context.Background()); !errors.Is(err, ErrFolderReplaced) {
		t.Fatalf("Run: %v, want ErrFolderReplaced", err)
	}
	lines, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(lines), "\n"); n != 2 {
		t.Errorf("metrics.jsonl has %d lines, want the header and epoch 1's", n)
	}
	_, step, _, err := ReadRunConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if step != tr.perEpoch {
		t.Errorf("last.safetensors stands at step %d, want epoch 1's end, %d", step, tr.perEpoch)
	}
}
