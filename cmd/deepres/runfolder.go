package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/deepres/deepres/train"
)

// defaultRunFolder is runs/<model>-<time>; openRunFolder makes it unique.
func defaultRunFolder(model string) string {
	return filepath.Join("runs", fmt.Sprintf("%s-%s", model, time.Now().Format("20060102-150405")))
}

// openRunFolder settles the run folder of a new run and locks it: when
// fresh, a new folder named *out or *out-N (the default name); otherwise
// *out, refused when it holds a run unless overwrite. The returned clear
// deletes the old run's files; call it once the new run is ready to start,
// so a failure before that (bad data, no device) leaves the old run whole.
func openRunFolder(out *string, fresh, overwrite bool) (lock *train.RunLock, clear func() error, err error) {
	if fresh {
		if *out, err = train.NewRunDir(*out); err != nil {
			return nil, nil, err
		}
	}
	if lock, err = train.LockRun(*out); err != nil {
		return nil, nil, err
	}
	found, err := train.HoldsRun(*out)
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	if len(found) > 0 && !overwrite && !slices.Contains(found, "last.safetensors") {
		lock.Close()
		return nil, nil, deadEnd(*out, found, os.Args[1:])
	}
	if len(found) > 0 && !overwrite {
		lock.Close()
		return nil, nil, usagef("%s holds a run (%s); continue it with: deepres train --resume %s, or replace it with --overwrite, or choose another --out",
			*out, strings.Join(found, ", "), *out)
	}
	dir := *out
	return lock, func() error { return train.ClearRun(dir) }, nil
}

// noteLeftovers says which temporary files of a killed process taking the
// lock removed.
func noteLeftovers(dir string, lock *train.RunLock) {
	if len(lock.Leftovers) > 0 {
		fmt.Fprintf(os.Stderr, "deepres: removed %d temporary file(s) a killed process left in %s: %s\n",
			len(lock.Leftovers), dir, strings.Join(lock.Leftovers, ", "))
	}
}

// deadEnd is the error for a run folder that holds a run's files (found)
// but no last.safetensors: a run that stopped before its first checkpoint
// cannot be resumed, only started again. command is the command line that
// started it, nil if unknown.
func deadEnd(dir string, found, command []string) error {
	msg := fmt.Sprintf("%s holds a run with no checkpoint to continue from (it has %s, no last.safetensors): it stopped before writing its first one "+
		"(killed, out of memory or interrupted by SIGPIPE in its first epoch, diverged, or trained with --checkpoint-every 0 and did not finish), so it cannot be resumed.",
		dir, strings.Join(found, ", "))
	if len(command) == 0 {
		return fmt.Errorf("%s\nHINT: start it again, replacing it, with the command that started it plus --out %s --overwrite", msg, shellQuote(dir))
	}
	return fmt.Errorf("%s\nHINT: start it again, replacing it, with:\n  %s", msg, restartCommand(command, dir))
}

// restartCommand is command (a train command line, program name first or
// not) aimed at dir with --overwrite, without --resume: the command that
// starts the run in dir again from scratch.
func restartCommand(command []string, dir string) string {
	if len(command) > 0 && command[0] == "deepres" {
		command = command[1:]
	}
	out := []string{"deepres"}
	for i := 0; i < len(command); i++ {
		a := command[i]
		switch {
		case a == "--out" || a == "--resume":
			i++ // and its value
		case strings.HasPrefix(a, "--out=") || strings.HasPrefix(a, "--resume=") || a == "--overwrite":
		default:
			out = append(out, shellQuote(a))
		}
	}
	return strings.Join(append(out, "--out", shellQuote(dir), "--overwrite"), " ")
}

// shellQuote quotes s for a POSIX shell where it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// checkLength rejects an --epochs whose step count overflows, and a
// warm-up or schedule milestones outside the run when the user typed them;
// a preset's that fall outside a short run only get a note.
func checkLength(fs *pflag.FlagSet, cfg train.Config, trainN int) error {
	perEpoch := train.StepsPerEpoch(trainN, cfg.BatchSize)
	total, err := cfg.TotalSteps(perEpoch)
	if err != nil {
		return usageError{err.Error()}
	}
	warmup, milestones := cfg.LengthIssues(total, perEpoch)
	for _, c := range []struct{ flag, issue string }{{"warmup-steps", warmup}, {"lr-schedule", milestones}} {
		switch {
		case c.issue == "":
		case typed(fs, c.flag):
			return usagef("--%s: %s", c.flag, c.issue)
		default:
			fmt.Fprintf(os.Stderr, "deepres: note: the preset's --%s does nothing in this run: %s\n", c.flag, c.issue)
		}
	}
	return nil
}
