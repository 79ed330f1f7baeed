package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/deepres/deepres/ops"
)

// CUDA graphs by stream capture (CUDA Programming Guide, "CUDA Graphs";
// CUDA Driver API reference, "Stream Management" and "Graph Management").
// Between BeginCapture and EndCapture every op's CUDA calls are recorded on
// the backend's stream instead of run; EndCapture instantiates the
// recording, and Graph.Launch replays it with one cuGraphLaunch. That turns
// a training step's thousands of launches (each several microseconds of host
// time) into one call: the point of docs/architecture.md's "What one
// training step asks of the device".

var _ ops.Capturer = (*Backend)(nil)

// ErrCaptureUnsupported: the loaded driver has no graph API.
var ErrCaptureUnsupported = errors.New("gpu: the CUDA driver has no stream capture (cuStreamBeginCapture_v2, cuGraphLaunch)")

// BeginCapture starts recording the backend's work (ops.Capturer). The
// capture is thread-local (CU_STREAM_CAPTURE_MODE_THREAD_LOCAL): an
// allocation or other unsafe call from the capturing thread invalidates it,
// and cuStreamEndCapture must come from the same OS thread, so in the
// default inline mode the calling goroutine stays locked to its thread
// until EndCapture, which must be called from the same goroutine.
func (b *Backend) BeginCapture() error {
	if graphErr != nil {
		return fmt.Errorf("%w: %v", ErrCaptureUnsupported, graphErr)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		panic("ops: backend used after Close")
	}
	if b.capturing {
		panic("ops: BeginCapture while capturing")
	}
	if b.err != nil {
		return b.err
	}
	if b.inline {
		runtime.LockOSThread()
	}
	var err error
	b.call(func() { err = cuCheck("cuStreamBeginCapture_v2", C.dr_cuStreamBeginCapture(b.stream)) })
	if err != nil {
		if b.inline {
			runtime.UnlockOSThread()
		}
		return err
	}
	b.capturing, b.captureErr = true, nil
	return nil
}

// EndCapture ends the recording and instantiates it (ops.Capturer). The
// first op that failed to record is the error; the device's sticky error
// is untouched, so eager work goes on.
func (b *Backend) EndCapture() (ops.Graph, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.capturing {
		panic("ops: EndCapture without BeginCapture")
	}
	var g C.dr_CUgraph
	var exec C.dr_CUgraphExec
	var err error
	b.call(func() {
		endErr := cuCheck("cuStreamEndCapture", C.dr_cuStreamEndCapture(b.stream, &g))
		err = errors.Join(b.captureErr, endErr)
		if err == nil {
			err = cuCheck("cuGraphInstantiateWithFlags", C.dr_cuGraphInstantiate(&exec, g))
		}
		if g != nil {
			// The executable graph does not need the graph ("Graph Management").
			err = errors.Join(err, cuCheck("cuGraphDestroy", C.dr_cuGraphDestroy(g)))
		}
	})
	b.capturing, b.captureErr = false, nil
	if b.inline {
		runtime.UnlockOSThread()
	}
	if err != nil {
		if exec != nil {
			b.call(func() { C.dr_cuGraphExecDestroy(exec) })
		}
		return nil, fmt.Errorf("capture a CUDA graph: %w", err)
	}
	return &Graph{b: b, exec: exec}, nil
}

// notCapturing panics when what is called during a capture: its effect
// would happen once, at capture time, not at each launch.
func (b *Backend) notCapturing(what string) {
	b.mu.Lock()
	c := b.capturing
	b.mu.Unlock()
	if c {
		panic("ops: " + what + " during a capture (ops.Capturer)")
	}
}

// Graph is a captured sequence of the backend's work (ops.Graph).
type Graph struct {
	b    *Backend
	exec C.dr_CUgraphExec
}

// Launch replays the graph on the backend's stream with one cuGraphLaunch.
func (g *Graph) Launch() {
	if g.exec == nil {
		panic("ops: Launch of a closed graph")
	}
	g.b.notCapturing("Graph.Launch")
	g.b.run(func() error { return cuCheck("cuGraphLaunch", C.dr_cuGraphLaunch(g.exec, g.b.stream)) })
}

// Close destroys the executable graph; a launch already queued still runs
// ("If the executable graph is in-flight, it will not be terminated").
func (g *Graph) Close() error {
	if g.exec == nil {
		return nil
	}
	var err error
	g.b.mu.Lock()
	defer g.b.mu.Unlock()
	if !g.b.closed {
		g.b.call(func() { err = cuCheck("cuGraphExecDestroy", C.dr_cuGraphExecDestroy(g.exec)) })
	}
	g.exec = nil
	return err
}
