package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// faultFromEnv is a crash-test knob: DEEPRES_TEST_KILL=POINT:N makes the
// process SIGKILL itself the Nth time training passes POINT (a name of
// train.Trainer.Fault: metrics, metrics-synced, best, last), so that a test
// can kill a run exactly between two of the writes that end an epoch. Unset,
// it costs nothing.
func faultFromEnv() func(string) {
	point, count, ok := strings.Cut(os.Getenv("DEEPRES_TEST_KILL"), ":")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n < 1 {
		return nil
	}
	return func(p string) {
		if p != point {
			return
		}
		if n--; n == 0 {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}
