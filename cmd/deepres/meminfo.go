package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"github.com/deepres/deepres/cpuref"
)

// newCPU opens the CPU reference with its memory limited to what the
// machine has available, so that a configuration too big for it (a batch
// of 10⁹, a huge widening) fails with a clear out-of-memory error before
// anything is allocated, instead of killing the Go runtime.
func newCPU() *cpuref.Backend {
	b := cpuref.New(0)
	b.Limit = memAvailable()
	return b
}

// memAvailable is MemAvailable of /proc/meminfo in bytes (the kernel's
// estimate of what can be allocated without swapping; proc(5)), or 0 (no
// limit) where it cannot be read.
func memAvailable() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
