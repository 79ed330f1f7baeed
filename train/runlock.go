package train

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/deepres/deepres/internal/atomicfile"
)

// LockFile is the run folder's lock: held (flock) by the one process that
// trains into the folder, and holding that process's PID for the message
// another one gets.
const LockFile = "run.lock"

// RunFiles are what a run writes into its folder; a folder holding any of
// them holds a run.
var RunFiles = []string{"last.safetensors", "best.safetensors", "metrics.jsonl"}

// RunLock is an exclusive lock on a run folder for the life of a process.
type RunLock struct {
	f *os.File
	// Leftovers are the temporary files (of checkpoints, metrics) that a
	// process killed while writing them left in the folder, removed when
	// the lock was taken.
	Leftovers []string
}

// LockRun creates dir if needed and takes its lock without waiting. It
// fails, naming the other process, when one already trains there, and
// fails at once when dir cannot be written (rather than after the first
// epoch). flock(2) locks die with the process, so a killed run leaves no
// stale lock.
func LockRun(dir string) (*RunLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run folder: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run folder %s cannot be written: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another process"
			if b, rerr := os.ReadFile(path); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
					who = fmt.Sprintf("process %d", pid)
				}
			}
			return nil, fmt.Errorf("run folder %s is in use by %s (it holds %s); wait for it to finish or choose another --out", dir, who, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("run folder %s cannot be written: %w", dir, err)
	}
	// Only now: while another process holds the lock, its temporary files
	// are writes in flight, not leftovers.
	left, err := atomicfile.RemoveLeftovers(dir)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("run folder %s: remove a killed process's temporary files: %w", dir, err)
	}
	return &RunLock{f: f, Leftovers: left}, nil
}

// ErrFolderReplaced is wrapped by Check when the run folder's lock file is
// no longer the one this lock holds.
var ErrFolderReplaced = errors.New("run folder removed or replaced while this run trained")

// Check reports, wrapping ErrFolderReplaced, that the folder's run.lock is
// no longer the file this lock holds: the folder was deleted (and perhaps
// made again, by another run that now holds its own lock there) while this
// process trained. flock locks the file, not its name, so only this check
// keeps such a process from writing its checkpoints and metrics over the
// new run's files, the worst way to lose a run. The trainer calls it
// before every write into the folder (Trainer.Owner).
func (l *RunLock) Check() error {
	if l == nil || l.f == nil {
		return nil
	}
	held, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("run lock: %w", err)
	}
	path := l.f.Name()
	now, err := os.Stat(path)
	if err != nil || !os.SameFile(held, now) {
		return fmt.Errorf("%w: %s is not this process's lock any more; not writing into %s", ErrFolderReplaced, path, filepath.Dir(path))
	}
	return nil
}

// Close releases the lock. Idempotent.
func (l *RunLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}

// HoldsRun reports which of RunFiles dir holds.
func HoldsRun(dir string) ([]string, error) {
	var found []string
	for _, name := range RunFiles {
		_, err := os.Stat(filepath.Join(dir, name))
		switch {
		case err == nil:
			found = append(found, name)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("run folder: %w", err)
		}
	}
	return found, nil
}

// ClearRun removes a run's checkpoints and metrics from dir (--overwrite);
// other files stay.
func ClearRun(dir string) error {
	for _, name := range RunFiles {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("overwrite run folder: %w", err)
		}
	}
	return nil
}

// NewRunDir creates a fresh folder named base, or base-2, base-3, … when
// that exists: mkdir(2) either creates a folder or fails, so two runs
// started in the same second never share one.
func NewRunDir(base string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return "", fmt.Errorf("run folder: %w", err)
	}
	for i := 1; i < 10000; i++ {
		dir := base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("run folder: %w", err)
		}
	}
	return "", fmt.Errorf("run folder: %s-2 … %s-9999 all exist", base, base)
}
