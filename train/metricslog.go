package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/internal/atomicfile"
)

// truncateMetrics keeps the lines of dir/metrics.jsonl up to epoch epochs,
// where a resumed run's checkpoint stands: a run killed after epochs whose
// checkpoint it had not written yet (--checkpoint-every N > 1) would
// otherwise repeat them. A line cut short by the kill goes too. The file is
// replaced atomically.
func truncateMetrics(dir string, epochs int) error {
	path := filepath.Join(dir, "metrics.jsonl")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	var keep bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		var m struct{ Epoch int }
		if !bytes.HasSuffix(line, []byte("\n")) || json.Unmarshal(line, &m) != nil || m.Epoch > epochs {
			continue
		}
		keep.Write(line)
	}
	if keep.Len() == len(b) {
		return nil
	}
	if err := atomicfile.WriteFile(path, keep.Bytes()); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// appendMetrics appends one epoch's line to dir/metrics.jsonl and syncs it,
// so that it is on disk before the checkpoint covering the epoch is written.
func appendMetrics(dir string, line []byte) error {
	f, err := os.OpenFile(filepath.Join(dir, "metrics.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// RunHeader is the first line of metrics.jsonl: the run's whole
// configuration (model, recipe knobs, data identity), so the log alone says
// what was trained. It has epoch 0, so readers of per-epoch lines skip it by
// its "run" key and truncateMetrics keeps it.
type RunHeader struct {
	Epoch int    `json:"epoch"`
	Run   Config `json:"run"`
	// Command is the command line that started the run (Trainer.Command).
	Command []string `json:"command,omitempty"`
}

// writeRunHeader starts dir/metrics.jsonl of a fresh run with its RunHeader.
func writeRunHeader(cfg Config, command []string) error {
	line, err := json.Marshal(RunHeader{Run: cfg, Command: command})
	if err != nil {
		return fmt.Errorf("metrics header: %w", err)
	}
	path := filepath.Join(cfg.Out, "metrics.jsonl")
	if err := atomicfile.WriteFile(path, append(line, '\n')); err != nil {
		return fmt.Errorf("metrics header: %w", err)
	}
	return nil
}

// RunCommand is the command line recorded in the header of
// dir/metrics.jsonl, or nil (no log, or one written before it was recorded).
func RunCommand(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		return nil
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	var h struct {
		Run     json.RawMessage `json:"run"`
		Command []string        `json:"command"`
	}
	if json.Unmarshal(first, &h) != nil || h.Run == nil {
		return nil
	}
	return h.Command
}

// dropBestAhead removes dir/best.safetensors when it was written past step,
// the position of the checkpoint a resume continues from: the resume cuts
// the log's lines past that checkpoint, and best.safetensors must go with
// them, or it would stand for epochs the log no longer has (and, under
// --override, for a future the run never reaches). The run continues from
// the best error recorded at step, so replaying the same epochs writes the
// same best.safetensors again. It returns a note for the user, "" if
// nothing was removed. An unreadable best.safetensors is left alone.
func dropBestAhead(dir string, step int) (string, error) {
	path := filepath.Join(dir, "best.safetensors")
	f, err := checkpoint.Read(path)
	if err != nil {
		return "", nil
	}
	best, err := strconv.Atoi(f.Meta["step"])
	if err != nil || best <= step {
		return "", nil
	}
	if err := os.Remove(path); err != nil {
		return "", fmt.Errorf("remove %s, written past the checkpoint: %w", path, err)
	}
	return fmt.Sprintf("removed %s: it was written at step %d, past last.safetensors (step %d), whose epochs are run again and write it again", path, best, step), nil
}
