package main

import (
	"fmt"
	"os"
	"path/filepath"
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
	if len(found) > 0 && !overwrite {
		lock.Close()
		return nil, nil, usagef("%s holds a run (%s); continue it with: deepres train --resume %s, or replace it with --overwrite, or choose another --out",
			*out, strings.Join(found, ", "), *out)
	}
	dir := *out
	return lock, func() error { return train.ClearRun(dir) }, nil
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
