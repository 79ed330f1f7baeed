package main

import (
	"encoding/json"
	"errors"
	"os"
	"syscall"
)

// The host cost of a training step, which CUDA graphs exist to cut: the
// calls into NVIDIA's libraries and the kernels run (from the simulator's
// counters, internal/cudasim/README.md; a real driver keeps none, and they
// are null then), and the CPU time of the thread that issues the step.

// deviceCounters reads the counters file CUDASIM_STATS names (the
// simulator rewrites it at every cuStreamSynchronize); ok is false without
// one.
func deviceCounters() (c map[string]float64, ok bool, err error) {
	path := os.Getenv("CUDASIM_STATS")
	if path == "" {
		return nil, false, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var s struct {
		Counters map[string]float64 `json:"counters"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, false, err
	}
	return s.Counters, true, nil
}

// threadCPU is the CPU time, in seconds, of the calling OS thread
// (getrusage(2) RUSAGE_THREAD): the caller locks its goroutine to the thread.
// Work the simulator or a driver does on threads of its own is not counted.
func threadCPU() float64 {
	const rusageThread = 1 // RUSAGE_THREAD, Linux
	var u syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &u); err != nil {
		return 0
	}
	return float64(u.Utime.Nano()+u.Stime.Nano()) / 1e9
}
