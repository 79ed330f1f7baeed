package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/deepres/deepres/checkpoint"
)

// FormatTag is the metadata "format" of the checkpoints this deepres writes.
// deepres-2 added the checksum (checkpoint.ChecksumKey), the writer's version
// ("deepres_version") and the data hashes of DataIdentity; deepres-1 files
// have none of those and are still read, with a note.
const FormatTag = "deepres-2"

// ReadCheckpoint reads a checkpoint and checks that this deepres can read it
// truthfully: its checksum (checkpoint.Read) and values, and its format tag.
// A file without any deepres metadata (PyTorch weights for --init) passes;
// one with deepres settings must carry a tag this deepres knows. The notes
// are one line each for the user (an unverified older file). When the file
// is a run folder's last or best checkpoint and is damaged, the error says
// whether the other one is intact and how to use it.
func ReadCheckpoint(path string) (*checkpoint.File, []string, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return nil, nil, withSibling(path, err)
	}
	note, err := checkFormat(f, path)
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	if note != "" {
		notes = append(notes, note)
	}
	return f, notes, nil
}

// writtenBy names the deepres that wrote a file's metadata.
func writtenBy(meta map[string]string) string {
	if v := meta["deepres_version"]; v != "" {
		return "deepres " + v
	}
	return "a deepres older than format " + FormatTag + " (it recorded no version)"
}

// checkFormat enforces the format tag; see ReadCheckpoint.
func checkFormat(f *checkpoint.File, path string) (note string, err error) {
	tag, ok := f.Meta["format"]
	by := writtenBy(f.Meta)
	switch {
	case !ok:
		for _, k := range []string{"model", "train", "position"} {
			if _, deepres := f.Meta[k]; deepres {
				return "", fmt.Errorf("%s: the metadata holds deepres settings (%q) but no format tag: not written by deepres, or altered", path, k)
			}
		}
		return "", nil // weights only: another program's
	case tag == FormatTag:
		if f.Checksum == "" {
			return "", fmt.Errorf("%s: format %s records a checksum and this file has none: its metadata was rewritten by another program, or damaged", path, tag)
		}
	case tag == "deepres-1":
		if f.Checksum == "" {
			return fmt.Sprintf("note: %s was written by %s (format deepres-1) without a checksum: it is read unverified", path, by), nil
		}
	default:
		if n, err := strconv.Atoi(strings.TrimPrefix(tag, "deepres-")); err == nil && strings.HasPrefix(tag, "deepres-") && n > 2 {
			return "", fmt.Errorf("%s has format %s, newer than this deepres (%s) reads (deepres-1, deepres-2): it was written by %s; HINT: upgrade deepres",
				path, tag, Version(), by)
		}
		return "", fmt.Errorf("%s has format tag %q, which no deepres writes (this one reads deepres-1 and deepres-2); written by %s", path, tag, by)
	}
	return "", nil
}

// withSibling adds to a damaged last.safetensors' error that best.safetensors
// beside it is intact (and the reverse), with how to use it.
func withSibling(path string, err error) error {
	other := map[string]string{"last.safetensors": "best.safetensors", "best.safetensors": "last.safetensors"}[filepath.Base(path)]
	if other == "" || errors.Is(err, fs.ErrNotExist) {
		return err
	}
	alt := filepath.Join(filepath.Dir(path), other)
	f, altErr := checkpoint.Read(alt)
	if altErr != nil {
		if errors.Is(altErr, fs.ErrNotExist) {
			return err
		}
		return fmt.Errorf("%w\n%s is damaged too: %v", err, alt, altErr)
	}
	if _, altErr := checkFormat(f, alt); altErr != nil {
		return err
	}
	where := fmt.Sprintf("epoch %s, step %s", f.Meta["epoch"], f.Meta["step"])
	if other == "best.safetensors" {
		dir := filepath.Dir(path)
		return fmt.Errorf("%w\nHINT: %s is intact (%s, the best so far); to continue the run from it: cp %s %s && deepres train --resume %s",
			err, alt, where, alt, path, dir)
	}
	return fmt.Errorf("%w\nHINT: %s is intact (%s, the run's latest); use it instead", err, alt, where)
}

// decodeStrict decodes the JSON metadata value key of a checkpoint into v,
// refusing fields this deepres does not know: a newer deepres's settings
// would otherwise be dropped without a word, and the run would continue as
// something else.
func decodeStrict(f *checkpoint.File, path, key string, v any) error {
	s, ok := f.Meta[key]
	if !ok {
		return fmt.Errorf("%s: no %q in the metadata", path, key)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.Contains(err.Error(), "unknown field") {
			return fmt.Errorf("%s: the %q metadata has a setting this deepres (%s) does not know (%v): it was written by %s; HINT: use that deepres or a newer one",
				path, key, Version(), err, writtenBy(f.Meta))
		}
		return fmt.Errorf("%s: bad %q metadata (written by %s): %w", path, key, writtenBy(f.Meta), err)
	}
	return nil
}

// StoredConfig returns the training configuration a checkpoint records,
// nil for one that has none (deepres init's).
func StoredConfig(f *checkpoint.File, path string) (*Config, error) {
	if _, ok := f.Meta["train"]; !ok {
		return nil, nil
	}
	var c Config
	if err := decodeStrict(f, path, "train", &c); err != nil {
		return nil, err
	}
	return &c, nil
}
