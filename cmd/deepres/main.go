// Command deepres trains very deep residual networks — ResNet, pre-activation
// ResNet, Wide ResNet, stochastic depth and RoR — on NVIDIA GPUs through
// cuDNN, or on the CPU reference.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/deepres/deepres/train"
)

// usageError marks a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

type command struct {
	name, summary string
	run           func(args []string) error
}

var commands = []command{
	{"train", "train a model (see deepres train --help)", runTrain},
	{"eval", "evaluate a checkpoint on a dataset", runEval},
	{"init", "write freshly initialised weights", runInit},
	{"models", "list the models with their parameter counts", runModels},
	{"devices", "list the GPUs deepres can use, or say why none", runDevices},
	{"bench", "time training steps on synthetic data", runBench},
	{"report", "tabulate and plot a results folder against the papers", runReport},
	{"plot", "plot a metric per epoch for run folders", runPlot},
}

func usage() {
	fmt.Fprintf(os.Stderr, "deepres trains very deep residual networks (He et al. 2016, Huang et al. 2016, Zhang et al. 2016).\n\nUsage: deepres <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'deepres <command> --help' for a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	for _, c := range commands {
		if c.name == os.Args[1] {
			os.Exit(exitCode(c.run(os.Args[2:])))
		}
	}
	fmt.Fprintf(os.Stderr, "deepres: unknown command %q\n", os.Args[1])
	usage()
	os.Exit(2)
}

// exitInterrupted is the status of a run stopped by SIGINT, SIGTERM, SIGHUP
// or SIGPIPE after writing its checkpoint, or before training started
// (signals.go): EX_TEMPFAIL of BSD's sysexits.h ("a temporary
// failure ... the user is invited to retry later"), so that a driver or a
// Slurm batch script can tell "resume me" (75) from "failed" (1) and "bad
// command line" (2); scripts/experiments/run.sh requeues on it.
const exitInterrupted = 75

func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "deepres: %v\n", err)
		return 2
	case errors.Is(err, train.ErrInterrupted):
		fmt.Fprintf(os.Stderr, "deepres: %v\n", err)
		return exitInterrupted
	}
	fmt.Fprintf(os.Stderr, "deepres: %v\n", err)
	return 1
}

// newFlags returns a flag set that reports errors as usage errors.
func newFlags(name, synopsis string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: deepres %s %s\n\nFlags:\n%s", name, synopsis, fs.FlagUsages())
	}
	return fs
}

// parse parses args and turns flag errors into usage errors (exit 2).
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
