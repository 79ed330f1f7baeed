package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/deepres/deepres/ops"
)

// Branches inside a captured graph (ops.Brancher), for stochastic depth:
// a unit's branch must run at a launch only when that step's mask keeps the
// unit, and the mask is drawn on the host after the capture. CUDA's
// conditional IF nodes decide on the device (CUDA Programming Guide,
// "Conditional Graph Nodes"; Driver API cuGraphConditionalHandleCreate,
// cuGraphAddNode with CU_GRAPH_NODE_TYPE_CONDITIONAL): a node runs its body
// graph when its handle's value, set by a kernel earlier in the same launch,
// is non-zero. So the host cost of a step stays one launch whatever the depth.
//
// Building it: stream capture cannot record into a conditional's body while
// the stream records the main graph, so the capture is cut into pieces.
// CaptureIf ends the stream's capture (the segment so far), captures each
// body as a graph of its own, and begins the next segment. EndCapture then
// assembles one graph, a chain of
//
//	child(setter) → child(segment 0) → IF(h0){child(then 0)}{child(otherwise 0)} → child(segment 1) → …
//
// where setter is one launch of dr_set_branches
// (kernels/branch/set_branches.cu) that sets every handle from the float
// flag its node depends on, read from device memory at each launch: the
// caller writes the flags before launching. An IF node with an else body
// needs CUDA 12.8 (ifElseFrom); on a 12.3 to 12.7 driver an "otherwise" body
// is an IF node of its own, after its "then" node, whose handle is set when
// the flag is zero: twice the nodes, the same work.

var _ ops.Brancher = (*Backend)(nil)

// capture is what one capture has recorded: its pieces in order.
type capture struct {
	list      []piece
	streaming bool // the stream is capturing a piece now
	inBody    bool // inside a CaptureIf body
}

// piece is one recorded graph: a segment that always runs, or a branch
// body that runs when the float cond[index] is non-zero (or zero: whenZero).
type piece struct {
	g        C.dr_CUgraph
	body     bool
	cond     uint64 // device address of the flags tensor
	index    int
	whenZero bool
	pair     bool // an otherwise body right after its CaptureIf's then body
}

func (c *capture) branched() bool {
	for _, p := range c.list {
		if p.body {
			return true
		}
	}
	return false
}

// CanBranch reports why CaptureIf cannot be used: a driver without
// conditional nodes, an NVRTC older than 12.3 (setterNVRTC), or a toolchain
// that cannot build the setter kernel.
// The first call compiles and loads that kernel.
func (b *Backend) CanBranch() error {
	if graphErr != nil {
		return fmt.Errorf("%w: %v", ErrCaptureUnsupported, graphErr)
	}
	if branchErr != nil {
		return fmt.Errorf("gpu: the CUDA driver has no conditional graph nodes (CUDA 12.3+): %v", branchErr)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		panic("ops: backend used after Close")
	}
	if b.branchMod != nil {
		return nil
	}
	if err := setterNVRTC(); err != nil {
		return err
	}
	target, err := kernelTargetFor(b.info)
	if err != nil {
		return fmt.Errorf("gpu: the conditional-node setter kernel: %w", err)
	}
	cubin, err := compileProgram("deepres_branches.cu", branchSource, target)
	if err != nil {
		return fmt.Errorf("gpu: the conditional-node setter kernel: %w", err)
	}
	var m *module
	b.call(func() { m, err = loadKernels(cubin, []string{"dr_set_branches"}, target, b.info) })
	if err != nil {
		return fmt.Errorf("gpu: the conditional-node setter kernel: %w", err)
	}
	b.branchMod = m
	return nil
}

// The first NVRTC that compiles the setter to a CUBIN is 12.3, the release
// that brought conditional nodes: the setter's cudaGraphSetConditional
// (cuda_device_runtime_api.h: extern __device__ __cudart_builtin__) is
// resolved by NVRTC's own ptxas, which knows it from 12.3 on. Measured with
// NVIDIA's wheels: nvidia-cuda-nvrtc-cu12 12.2.140 answers "ptxas fatal :
// Unresolved extern function 'cudaGraphSetConditional'", 12.3.107, 12.8.93
// and 13.5.37 compile it (the last two on every CI run,
// TestKernelsCompileWithNVIDIANVRTC).
const setterNVRTCMajor, setterNVRTCMinor = 12, 3

// setterNVRTC says why the loaded NVRTC cannot build the setter, if so.
func setterNVRTC() error {
	if err := loadNVRTC(); err != nil {
		return fmt.Errorf("gpu: the conditional-node setter kernel: %w", err)
	}
	var maj, min C.int
	if err := nvrtcCheck("nvrtcVersion", C.dr_nvrtcVersion(&maj, &min)); err != nil {
		return fmt.Errorf("gpu: the conditional-node setter kernel: %w", err)
	}
	if maj < setterNVRTCMajor || maj == setterNVRTCMajor && min < setterNVRTCMinor {
		return fmt.Errorf("gpu: NVRTC %d.%d cannot compile the conditional-node setter (its ptxas does not resolve "+
			"cudaGraphSetConditional): stochastic depth's capture needs NVRTC %d.%d or newer",
			maj, min, setterNVRTCMajor, setterNVRTCMinor)
	}
	return nil
}

// branchSource is the setter's translation unit: common.cuh, then
// kernels/branch/set_branches.cu.
func branchSource() (string, error) {
	common, err := kernelFS.ReadFile("kernels/common.cuh")
	if err != nil {
		return "", err
	}
	src, err := kernelFS.ReadFile("kernels/branch/set_branches.cu")
	if err != nil {
		return "", err
	}
	return string(common) + "\n" + string(src), nil
}

// CaptureIf records then and otherwise as branch bodies decided by
// cond[i] at each launch (ops.Brancher).
func (b *Backend) CaptureIf(cond ops.Tensor, i int, then, otherwise func()) {
	t := b.ten(cond, "CaptureIf's cond")
	if i < 0 || i >= t.len() {
		panic(fmt.Sprintf("ops: CaptureIf index %d outside %v", i, t.shape))
	}
	b.mu.Lock()
	switch {
	case !b.capturing:
		b.mu.Unlock()
		panic("ops: CaptureIf outside a capture")
	case b.pieces.inBody:
		b.mu.Unlock()
		panic("ops: CaptureIf inside a CaptureIf body")
	case b.branchMod == nil:
		b.mu.Unlock()
		panic("ops: CaptureIf before CanBranch succeeded")
	}
	b.cut(piece{}, false)
	b.mu.Unlock()
	thenKept := false
	for k, body := range []func(){then, otherwise} {
		if body == nil {
			continue
		}
		b.mu.Lock()
		b.begin()
		b.pieces.inBody = true
		b.mu.Unlock()
		body()
		b.mu.Lock()
		b.pieces.inBody = false
		n := len(b.pieces.list)
		b.cut(piece{body: true, cond: t.ptr, index: i, whenZero: k == 1, pair: k == 1 && thenKept}, false)
		thenKept = k == 0 && len(b.pieces.list) > n
		b.mu.Unlock()
	}
	b.mu.Lock()
	b.begin()
	b.mu.Unlock()
}

// cut ends the stream's capture and keeps what it recorded as p (an empty
// recording is dropped unless keepEmpty). Called with b.mu held. A failure
// becomes the capture's error; the ops after it then record nothing (run).
func (b *Backend) cut(p piece, keepEmpty bool) {
	c := b.pieces
	if !c.streaming {
		return
	}
	c.streaming = false
	b.call(func() {
		var g C.dr_CUgraph
		err := cuCheck("cuStreamEndCapture", C.dr_cuStreamEndCapture(b.stream, &g))
		var n C.size_t = 1
		if err == nil && !keepEmpty && branchErr == nil {
			err = cuCheck("cuGraphGetNodes", C.dr_cuGraphNodeCount(g, &n))
		}
		switch {
		case err != nil:
			if g != nil {
				C.dr_cuGraphDestroy(g)
			}
			if b.captureErr == nil {
				b.captureErr = err
			}
		case n == 0:
			C.dr_cuGraphDestroy(g)
		default:
			p.g = g
			c.list = append(c.list, p)
		}
	})
}

// begin starts capturing the next piece, unless the capture already
// failed. Called with b.mu held.
func (b *Backend) begin() {
	if b.captureErr != nil {
		return
	}
	b.call(func() {
		if err := cuCheck("cuStreamBeginCapture_v2", C.dr_cuStreamBeginCapture(b.stream)); err != nil {
			b.captureErr = err
			return
		}
		b.pieces.streaming = true
	})
}

// destroyPieces releases recorded pieces that will not be assembled.
func (b *Backend) destroyPieces(list []piece) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.call(func() {
		for _, p := range list {
			C.dr_cuGraphDestroy(p.g)
		}
	})
}

// branchBytes is the size of one dr_branch (set_branches.cu).
const branchBytes = 16

// ifElseFrom is the first driver (cuDriverGetVersion) whose IF nodes take
// an else body (CUDA_CONDITIONAL_NODE_PARAMS.size 2: CUDA 12.8). From it on,
// a CaptureIf with both bodies is one node; before it, two.
var ifElseFrom = 12080

// step is one node of the assembled chain: a segment that always runs, or
// an IF node with its bodies (then, and with IF/ELSE otherwise), decided by
// cond[index] (run when zero: whenZero, for an "otherwise" node of its own).
type step struct {
	segment  C.dr_CUgraph
	bodies   []C.dr_CUgraph
	cond     uint64
	index    int
	whenZero bool
}

// steps pairs the pieces into the chain's nodes.
func steps(list []piece, ifElse bool) []step {
	var out []step
	for k := 0; k < len(list); k++ {
		p := list[k]
		switch {
		case !p.body:
			out = append(out, step{segment: p.g})
		case ifElse && !p.whenZero && k+1 < len(list) && list[k+1].pair:
			out = append(out, step{bodies: []C.dr_CUgraph{p.g, list[k+1].g}, cond: p.cond, index: p.index})
			k++
		default:
			out = append(out, step{bodies: []C.dr_CUgraph{p.g}, cond: p.cond, index: p.index, whenZero: p.whenZero})
		}
	}
	return out
}

// assemble builds the graph with conditional nodes out of the pieces (see
// the top of this file), instantiates it and releases the pieces.
func (b *Backend) assemble(list []piece) (ops.Graph, error) {
	var top C.dr_CUgraph
	var handles []C.dr_CUgraphConditionalHandle
	var chain []step
	var err error
	b.mu.Lock()
	b.call(func() {
		var v C.int
		if err = cuCheck("cuDriverGetVersion", C.dr_cuDriverGetVersion(&v)); err != nil {
			return
		}
		chain = steps(list, int(v) >= ifElseFrom)
		if err = cuCheck("cuGraphCreate", C.dr_cuGraphCreate(&top)); err != nil {
			return
		}
		for _, st := range chain {
			if st.bodies == nil {
				continue
			}
			var h C.dr_CUgraphConditionalHandle
			if err = cuCheck("cuGraphConditionalHandleCreate", C.dr_cuGraphConditionalHandleCreate(&h, top, b.ctx)); err != nil {
				return
			}
			handles = append(handles, h)
		}
	})
	b.mu.Unlock()
	fail := func(err error) (ops.Graph, error) {
		b.destroyPieces(list)
		if top != nil {
			b.destroyPieces([]piece{{g: top}})
		}
		return nil, fmt.Errorf("assemble a CUDA graph with branches: %w", err)
	}
	if err != nil {
		return fail(err)
	}

	if len(handles) == 0 { // every body recorded nothing: segments only
		return b.chain(top, list, chain, nil, nil, nil, nil)
	}
	// The setter's table, uploaded once: per flags tensor, one launch of
	// dr_set_branches over its entries (handle, index, whenZero), in the
	// order of first use. (An entry holds an index, not the flag's address:
	// a GPU would follow either, but the NVIDIA-library simulator
	// translates only a kernel's pointer arguments, internal/cudasim.)
	var groups []branchGroup
	var entries [][4]uint32
	k := 0
	for _, st := range chain {
		if st.bodies == nil {
			continue
		}
		g := len(groups) - 1
		for g >= 0 && groups[g].cond != st.cond {
			g--
		}
		if g < 0 {
			groups = append(groups, branchGroup{cond: st.cond})
			g = len(groups) - 1
		}
		h := uint64(handles[k])
		groups[g].entries = append(groups[g].entries, [4]uint32{uint32(h), uint32(h >> 32), uint32(st.index), uint32(flag(st.whenZero))})
		k++
	}
	for i := range groups {
		groups[i].first = len(entries)
		entries = append(entries, groups[i].entries...)
	}
	host := make([]float32, 4*len(entries))
	words := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(host))), len(host))
	for k, e := range entries {
		copy(words[4*k:], e[:])
	}
	table, err := b.Alloc(len(host))
	if err != nil {
		return fail(err)
	}
	b.CopyIn(table, host)
	return b.chain(top, list, chain, handles, groups, table, host)
}

// branchGroup is the IF nodes one flags tensor decides: their entries in
// the setter's table, from first on.
type branchGroup struct {
	cond    uint64
	first   int
	entries [][4]uint32
}

// chain adds the setter (when there are handles) and the steps to top,
// instantiates it and releases the pieces (list).
func (b *Backend) chain(top C.dr_CUgraph, list []piece, chain []step, handles []C.dr_CUgraphConditionalHandle, groups []branchGroup, table ops.Tensor, host []float32) (ops.Graph, error) {
	var err error
	b.mu.Lock()
	b.call(func() {
		if err = b.err; err != nil {
			return
		}
		var last C.dr_CUgraphNode
		if len(handles) > 0 {
			// The setter, captured on its own: a launch per flags tensor.
			var setter C.dr_CUgraph
			if err = cuCheck("cuStreamBeginCapture_v2", C.dr_cuStreamBeginCapture(b.stream)); err != nil {
				return
			}
			var launchErr error
			tp := b.ten(table, "branch table").ptr
			for _, gr := range groups {
				grid := min((len(gr.entries)+blockSize-1)/blockSize, maxGrid)
				launchErr = errors.Join(launchErr, b.launchIn(b.branchMod, "dr_set_branches", grid,
					tp+uint64(gr.first*branchBytes), i32(len(gr.entries)), gr.cond))
			}
			err = errors.Join(launchErr, cuCheck("cuStreamEndCapture", C.dr_cuStreamEndCapture(b.stream, &setter)))
			if err != nil {
				if setter != nil {
					C.dr_cuGraphDestroy(setter)
				}
				return
			}
			err = cuCheck("cuGraphAddChildGraphNode", C.dr_cuGraphAddChild(&last, top, nil, setter))
			C.dr_cuGraphDestroy(setter) // the child node holds a copy
		}
		k := 0
		for _, st := range chain {
			if err != nil {
				return
			}
			if st.bodies == nil {
				err = cuCheck("cuGraphAddChildGraphNode", C.dr_cuGraphAddChild(&last, top, last, st.segment))
				continue
			}
			var out [2]C.dr_CUgraph
			err = cuCheck("cuGraphAddNode_v2(IF)", C.dr_cuGraphAddIf(&last, top, last, handles[k], b.ctx, C.uint(len(st.bodies)), &out[0]))
			for j, body := range st.bodies {
				if err == nil {
					var node C.dr_CUgraphNode
					err = cuCheck("cuGraphAddChildGraphNode", C.dr_cuGraphAddChild(&node, out[j], nil, body))
				}
			}
			k++
		}
	})
	b.mu.Unlock()
	b.destroyPieces(list)
	if err != nil {
		b.Free(table)
		b.destroyPieces([]piece{{g: top}})
		return nil, fmt.Errorf("assemble a CUDA graph with branches: %w", err)
	}
	return b.instantiate(top, table, host)
}
