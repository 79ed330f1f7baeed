// Package atomicfile writes a file the way deepres writes its checkpoints: a
// temporary file beside the target, synced and renamed over it, so that a
// crash, a full disk or an error leaves the old file or the new one, never
// part of one.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempPrefix and tempInfix make a temporary file's name: ".NAME.tmp-RANDOM",
// hidden, and recognisable by RemoveLeftovers.
const tempPrefix, tempInfix = ".", ".tmp-"

// Write runs fill on a temporary file in path's folder and renames it over
// path only once everything is written and synced; the folder is synced
// after the rename, which is durable only then (fsync(2): "Calling fsync()
// does not necessarily ensure that the entry in the directory containing
// the file has also reached disk"). On any error the temporary file is
// removed and path is left as it was. The file is made 0644.
func Write(path string, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPrefix+filepath.Base(path)+tempInfix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close() // may already be closed; the error of interest is err
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; outputs are ordinary data files.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// WriteFile is Write with the file's whole content.
func WriteFile(path string, b []byte) error {
	return Write(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// SyncDir makes the folder's entries (a rename, a new file) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// IsTemp reports whether name is a temporary file of Write's (checkpoints
// included: the checkpoint package writes through Write).
func IsTemp(name string) bool {
	return strings.HasPrefix(name, tempPrefix) && strings.Contains(name[1:], tempInfix)
}

// RemoveLeftovers removes the temporary files that a process killed in the
// middle of Write left in dir, and returns their names. Call it only while
// holding the folder's lock: another process's temporary file is not a
// leftover.
func RemoveLeftovers(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !IsTemp(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}
