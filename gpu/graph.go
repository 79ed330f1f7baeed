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
	b.pieces = &capture{streaming: true}
	return nil
}

// EndCapture ends the recording and instantiates it (ops.Capturer). The
// first op that failed to record is the error; the device's sticky error
// is untouched, so eager work goes on. A recording with branches
// (CaptureIf) is assembled into one graph with conditional nodes first.
func (b *Backend) EndCapture() (ops.Graph, error) {
	b.mu.Lock()
	if !b.capturing {
		b.mu.Unlock()
		panic("ops: EndCapture without BeginCapture")
	}
	if b.pieces.inBody {
		b.mu.Unlock()
		panic("ops: EndCapture inside a CaptureIf body")
	}
	b.cut(piece{}, len(b.pieces.list) == 0)
	c, err := b.pieces, b.captureErr
	b.capturing, b.captureErr, b.pieces = false, nil, nil
	if b.inline {
		runtime.UnlockOSThread()
	}
	b.mu.Unlock()
	if err != nil {
		b.destroyPieces(c.list)
		return nil, fmt.Errorf("capture a CUDA graph: %w", err)
	}
	if len(c.list) == 1 && !c.branched() {
		return b.instantiate(c.list[0].g, nil, nil)
	}
	return b.assemble(c.list)
}

// instantiate makes g executable and destroys g: the executable graph does
// not need it ("Graph Management"). table and host are what the graph's
// setter kernel reads (branch.go), kept until Close.
func (b *Backend) instantiate(g C.dr_CUgraph, table ops.Tensor, host []float32) (ops.Graph, error) {
	var exec C.dr_CUgraphExec
	var err error
	b.mu.Lock()
	b.call(func() {
		err = cuCheck("cuGraphInstantiateWithFlags", C.dr_cuGraphInstantiate(&exec, g))
		err = errors.Join(err, cuCheck("cuGraphDestroy", C.dr_cuGraphDestroy(g)))
		if err != nil && exec != nil {
			C.dr_cuGraphExecDestroy(exec)
		}
	})
	b.mu.Unlock()
	if err != nil {
		b.Free(table)
		return nil, fmt.Errorf("capture a CUDA graph: %w", err)
	}
	return &Graph{b: b, exec: exec, table: table, tableHost: host}, nil
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
	// A graph with branches: the table its setter kernel reads, and the
	// host copy it was uploaded from (CopyIn's source stays unchanged).
	table     ops.Tensor
	tableHost []float32
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
	if !g.b.closed {
		g.b.call(func() { err = cuCheck("cuGraphExecDestroy", C.dr_cuGraphExecDestroy(g.exec)) })
	}
	g.exec = nil
	g.b.mu.Unlock()
	g.b.Free(g.table)
	g.table, g.tableHost = nil, nil
	return err
}
