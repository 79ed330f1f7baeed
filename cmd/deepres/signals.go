package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
)

// exitQuit is the status of a run stopped by SIGQUIT (Ctrl-\): the
// goroutines' stacks are printed and the process exits at once, without a
// checkpoint (the run resumes from its last one). 131 is what a shell
// reports for a process SIGQUIT killed (128+3); Go's own SIGQUIT exit, 2,
// would read as "bad command line".
const exitQuit = 131

// stopSignals are the signals that stop a run at a checkpoint (exit 75):
// Ctrl-C, SIGTERM (Slurm, run.sh, kill), SIGHUP (the terminal went away)
// and SIGPIPE (the pipe stderr goes to was closed: deepres train 2>&1 |
// head -1). Catching SIGPIPE also turns a write to a closed stdout or
// stderr into an EPIPE error, which progress output ignores, instead of
// the death Go's runtime otherwise gives (os/signal: "If the program is not
// calling Notify to receive SIGPIPE signals, then ... a write to a broken
// pipe on file descriptors 1 or 2 ... will cause the program to exit with
// a SIGPIPE signal").
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE}

// runSignals handles signals from train's first instant: before training
// starts (data loading, building the model), a stop signal exits 75 at
// once, as nothing was written that a rerun of the same command would not
// write again; once training runs, it cancels Context and the trainer
// finishes the step, writes its checkpoint and returns ErrInterrupted.
type runSignals struct {
	Context context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	started bool
}

// catchSignals installs the handlers. SIGHUP or SIGPIPE the process was
// started with ignored (nohup's SIGHUP) stays ignored: Notify would
// otherwise enable it (os/signal, "If the program was started with SIGHUP
// or SIGINT disabled"). SIGINT is caught as before (a background job of a
// script starts with it ignored, and Ctrl-C must still stop it at a
// checkpoint); Go's runtime catches SIGQUIT whatever the parent set.
func catchSignals() *runSignals {
	s := &runSignals{}
	s.Context, s.cancel = context.WithCancel(context.Background())
	ch := make(chan os.Signal, 4)
	for _, sig := range append(stopSignals, syscall.SIGQUIT) {
		if sig == os.Interrupt || sig == syscall.SIGQUIT || !signal.Ignored(sig) {
			signal.Notify(ch, sig)
		}
	}
	go func() {
		for sig := range ch {
			s.handle(sig)
		}
	}()
	return s
}

func (s *runSignals) handle(sig os.Signal) {
	if sig == syscall.SIGQUIT {
		buf := make([]byte, 1<<20)
		os.Stderr.Write(buf[:runtime.Stack(buf, true)])
		fmt.Fprintf(os.Stderr, "deepres: SIGQUIT: the goroutines are above; exit %d without a checkpoint (a run continues from its last one with deepres train --resume DIR)\n", exitQuit)
		os.Exit(exitQuit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		fmt.Fprintf(os.Stderr, "deepres: %v before training started: nothing was trained; run the same command again\n", sig)
		os.Exit(exitInterrupted)
	}
	s.cancel()
}

// start marks the point from which a stop signal checkpoints rather than
// exits.
func (s *runSignals) start() {
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
}
