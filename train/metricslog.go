package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, keep.Bytes(), 0o644); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
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
}

// writeRunHeader starts dir/metrics.jsonl of a fresh run with its RunHeader.
func writeRunHeader(cfg Config) error {
	line, err := json.Marshal(RunHeader{Run: cfg})
	if err != nil {
		return fmt.Errorf("metrics header: %w", err)
	}
	path := filepath.Join(cfg.Out, "metrics.jsonl")
	if err := os.WriteFile(path, append(line, '\n'), 0o644); err != nil {
		return fmt.Errorf("metrics header: %w", err)
	}
	return nil
}
