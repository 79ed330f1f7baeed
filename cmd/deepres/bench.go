package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opbytes"
	"github.com/deepres/deepres/train"
)

// peakReporter is implemented by backends that track their peak memory
// (tensors only, on every backend).
type peakReporter interface{ PeakBytes() int64 }

// workspaceReporter is implemented by backends that hold device memory
// besides tensors (the GPU's cuDNN workspace).
type workspaceReporter interface{ WorkspaceBytes() int64 }

func runBench(args []string) error {
	fs := newFlags("bench", "--model M --batch-size N [--device D] [--steps K] [--warmup K] [--math tf32|fp32] [--precision P] [--layout nchw|nhwc|auto] [--recompute off|bn|unit|auto] [--fuse] [--cuda-graphs auto|on|off] [--json] [--bytes-only]")
	var mf modelFlags
	mf.add(fs)
	batch := fs.Int("batch-size", 128, "mini-batch size")
	device := fs.String("device", "auto", "auto, cpu, cuda or cuda:N")
	math := fs.String("math", "tf32", "GPU math: tf32 or fp32")
	precision := fs.String("precision", "", precisionUsage+" (default: --math's)")
	layout := fs.String("layout", "auto", layoutUsage+"; bytes_per_step is the same in either")
	steps := fs.Int("steps", 20, "timed training steps")
	warmup := fs.Int("warmup", 3, "untimed steps first (algorithm search, allocation)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	recompute := fs.String("recompute", "off", "off, bn, unit or auto: what residual units keep for the backward pass (as train --recompute)")
	graphs := fs.String("cuda-graphs", "auto", "launch each step as one CUDA graph: auto (when the GPU and the model allow it), on (refuse otherwise), off (as train --cuda-graphs)")
	bytesOnly := fs.Bool("bytes-only", false, "count what one training step's ops read and write (bytes_per_step), without a device or timing; --recompute auto picks as on an 80 GB card")
	fuse := fs.Bool("fuse", false, "batch norm, shortcut addition and ReLU as one op where the units allow it (as train --fuse); default: separate ops")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *steps < 1 || *warmup < 0 || *batch < 1 {
		return usagef("need --steps >= 1, --warmup >= 0 and --batch-size >= 1")
	}
	if err := checkFiniteFlags(fs); err != nil {
		return err
	}
	mc, err := mf.config()
	if err != nil {
		return err
	}
	rc, err := layers.ParseRecompute(*recompute)
	if err != nil {
		return usagef("--recompute: %v", err)
	}
	gm, err := train.ParseGraphMode(*graphs)
	if err != nil {
		return usagef("--cuda-graphs: %v", err)
	}
	if why := train.NotCaptured(mc); gm == train.GraphsOn && why != "" {
		return usagef("--cuda-graphs on: %s (auto launches every op then)", why)
	}
	if gm == train.GraphsOn && *device == "cpu" {
		return usagef("--cuda-graphs on: the CPU cannot capture steps (CUDA graphs are a GPU's); drop it or use --device cuda")
	}
	mathMode, prec, err := resolvePrecision(fs, *precision, *math)
	if err != nil {
		return err
	}
	*math = mathMode
	act, _ := train.StorageOf(prec)
	if err := checkLayoutFlag(*layout); err != nil {
		return err
	}
	if *bytesOnly { // counted for any storage type and layout: no device runs
		// auto resolves as on a GPU that stores NHWC (Shapes does): the
		// bytes are the same in either layout.
		l, _, err := resolveLayout(&opbytes.Shapes{}, *layout, prec)
		if err != nil {
			return err
		}
		return printStepBytes(mc, *batch, rc, *fuse, *asJSON, act, l)
	}
	b, err := openDevice(*device, *math)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := checkPrecision(b, prec); err != nil {
		return err
	}
	l, note, err := resolveLayout(b, *layout, prec)
	if err != nil {
		return err
	}
	if note != "" && !*asJSON {
		fmt.Fprintf(os.Stderr, "deepres: %s\n", note)
	}
	if *device == "cpu" && mc.Depth > 110 {
		fmt.Fprintf(os.Stderr, "deepres: %s on the CPU takes a while per step\n", mc.Name)
	}
	res, err := bench(b, mc, *batch, *steps, *warmup, rc, *fuse, gm, act, l)
	if err != nil {
		return err
	}
	if res.GraphNote != "" && !*asJSON {
		fmt.Fprintf(os.Stderr, "deepres: %s\n", res.GraphNote)
	}
	res.Device, res.Math, res.Precision = b.Name(), *math, prec
	if _, ok := b.(*cpuref.Backend); ok {
		res.Math = "fp32" // --math selects GPU math; the CPU reference is always float32
		if prec == "tf32" {
			res.Precision = "fp32"
		}
	}
	if *asJSON {
		return printJSON(res)
	}
	mode := ""
	if res.Recompute != layers.StoreAll {
		mode = ", recompute " + res.Recompute.String()
	}
	if res.Fuse {
		mode += ", fused"
	}
	if res.Layout != "nchw" {
		mode += ", " + res.Layout
	}
	memory := mib(res.PeakBytes)
	if res.WorkspaceBytes >= 0 {
		memory += " in tensors + " + mib(res.WorkspaceBytes) + " workspace"
	}
	if res.CUDAGraphs {
		mode += ", CUDA graphs"
	}
	fmt.Printf("%s batch %d on %s (%s%s): %.1f img/s, %.2f ms/step median (p10 %.2f, p90 %.2f) over %d steps, peak memory %s, host CPU %.2f ms/step, ops move %s/step (counted)",
		res.Model, res.Batch, res.Device, res.Precision, mode, res.ImagesPerSec, res.MedianMS, res.P10MS, res.P90MS, res.Steps, memory, res.HostMSPerStep, mib(res.BytesPerStep))
	if res.DriverCallsPerStep != nil {
		fmt.Printf(", %.1f library calls and %.1f kernels per step", *res.DriverCallsPerStep, *res.KernelsPerStep)
	}
	fmt.Println()
	return nil
}

type benchResult struct {
	Model        string  `json:"model"`
	Batch        int     `json:"batch"`
	Device       string  `json:"device"`
	Math         string  `json:"math"`
	Precision    string  `json:"precision"`
	Layout       string  `json:"layout"` // --layout, auto resolved: nchw or nhwc
	Steps        int     `json:"steps"`
	ImagesPerSec float64 `json:"img_per_s"`
	MedianMS     float64 `json:"ms_per_step_median"`
	P10MS        float64 `json:"ms_per_step_p10"`
	P90MS        float64 `json:"ms_per_step_p90"`
	// PeakBytes is the most the tensors held at once (activations,
	// parameters, gradients, momentum); -1: the backend does not track it.
	PeakBytes int64 `json:"peak_bytes"`
	// WorkspaceBytes is device memory held besides tensors for the whole
	// run (the cuDNN workspace); -1: the backend holds none. PeakBytes +
	// WorkspaceBytes compares with PyTorch's max_memory_allocated, which
	// counts cuDNN's workspaces too (scripts/gpu/bench.sh does so).
	WorkspaceBytes int64            `json:"workspace_bytes"`
	Recompute      layers.Recompute `json:"recompute"`
	Fuse           bool             `json:"fuse"` // --fuse: fused batch norm, addition and ReLU
	// CUDAGraphs says whether the timed steps were one graph launch each;
	// GraphNote why not, when --cuda-graphs auto fell back.
	CUDAGraphs bool   `json:"cuda_graphs"`
	GraphNote  string `json:"cuda_graphs_note,omitempty"`
	// HostMSPerStep is the CPU time of the thread issuing the steps, per
	// step (the launching cost; the device's own work is not in it). With
	// DEEPRES_GPU_THREAD=worker the library calls run on the worker thread,
	// whose time is not in it.
	HostMSPerStep float64 `json:"host_ms_per_step"`
	// DriverCallsPerStep counts every call into NVIDIA's libraries per
	// step (the step's Sync included), KernelsPerStep the kernels run
	// (cuDNN and cuBLAS calls count one each): from the simulator's
	// counters (CUDASIM_STATS), null on a real GPU.
	DriverCallsPerStep *float64 `json:"driver_calls_per_step"`
	KernelsPerStep     *float64 `json:"kernels_per_step"`
	// BytesPerStep is what the step's ops read and write (ops/opbytes: each
	// tensor argument once, views free; a lower bound of DRAM traffic),
	// by op kind in BytesByOp. It is counted on a twin of the timed
	// network — same model, batch and recompute mode, on opbytes.Shapes,
	// through train.Compute, the trainer's step — not on the timed backend,
	// whose steps it would slow (and could not wrap without hiding its
	// CUDA graphs); the ops an eager step issues do not depend on the
	// device. Not counted: what a captured step adds — with stochastic
	// depth, a copy of each dropped unit's output forward and back
	// (bench/RESULTS.md, "CUDA graphs"). The trainer's step adds 3
	// statistics reductions to the timed one (a few KiB). With stochastic
	// depth it is one mask (CountStepBytes says which), not the timed
	// steps' masks. Counted in the step's storage type (--precision).
	BytesPerStep int64            `json:"bytes_per_step"`
	BytesByOp    map[string]int64 `json:"bytes_by_op"`
}

func mib(b int64) string {
	if b < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// bench times full training steps — input upload, forward, loss, backward,
// SGD update and a sync — on synthetic data of CIFAR's shape.
//
// With CUDA graphs (gm, as train's) the warm-up steps run eagerly, then the
// step is captured once and each timed step uploads the inputs and the
// learning rate and launches it.
func bench(b ops.Backend, mc models.Config, batch, steps, warmup int, recompute layers.Recompute, fuse bool, gm train.GraphMode, act ops.DType, layout ops.Layout) (benchResult, error) {
	net, err := models.BuildIn(mc, b, batch, recompute, fuse, act, layout)
	if err != nil {
		return benchResult{}, err
	}
	defer net.Close()
	net.Init(1)
	net.SetTraining(true)
	r := rand.New(rand.NewPCG(1, 2))
	x, err := ops.AllocLayout(b, ops.Float32, layout, batch, 3, 32, 32) // as train.New lays it out
	if err != nil {
		return benchResult{}, err
	}
	defer b.Free(x)
	labels, err := b.Alloc(batch)
	if err != nil {
		return benchResult{}, err
	}
	defer b.Free(labels)
	hostX := make([]float32, batch*3*32*32)
	hostL := make([]float32, batch)
	for i := range hostX {
		hostX[i] = float32(r.NormFloat64())
	}
	for i := range hostL {
		hostL[i] = float32(r.IntN(mc.Classes))
	}
	p := ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true}
	step := func() {
		net.Forward(x)
		net.Loss(labels, true)
		net.Backward()
		net.Step(p)
	}
	// The issuing thread's CPU time is what host_ms_per_step measures.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var graph ops.Graph
	var lr ops.Tensor
	lrHost := []float32{p.LR}
	note, err := benchGraphs(b, mc, gm)
	if err != nil {
		return benchResult{}, err
	}
	var seedBase, mask ops.Tensor
	maskHost := make([]float32, len(net.Units))
	var seedDelta uint64
	var seedHost [2]float32
	uploadSeed := func() {
		if seedBase != nil {
			net.Env.DropoutStepBase = net.Env.DropoutSeed
			seedHost = ops.SeedWords(net.Env.DropoutSeed)
			b.CopyIn(seedBase, seedHost[:])
		}
	}
	times := make([]float64, 0, steps)
	var counters0 map[string]float64
	var cpu0 float64
	for i := 0; i < warmup+steps; i++ {
		if i == warmup {
			if note == "" && gm != train.GraphsOff {
				if mc.Dropout > 0 { // masks drawn from a seed base read from the device
					if seedBase, err = b.Alloc(2); err != nil {
						return benchResult{}, err
					}
					defer b.Free(seedBase)
					net.Env.DropoutBase = seedBase
					uploadSeed()
				}
				// The unit mask, read by the conditional nodes (benchGraphs
				// said "" only where a backend that can capture can branch).
				if br, ok := b.(ops.Brancher); ok && mc.SD != models.SDOff {
					if mask, err = b.Alloc(len(net.Units)); err != nil {
						return benchResult{}, err
					}
					defer b.Free(mask)
					net.Rehearse(x, labels) // every unit's algorithm searches made before the capture
					net.Env.Mask = mask
					net.Env.Branch = br
				}
				seed0 := net.Env.DropoutSeed
				graph, lr, note, err = captureBench(b, step, &p, gm)
				net.Env.Branch = nil
				if err != nil {
					return benchResult{}, err
				}
				seedDelta = net.Env.DropoutSeed - seed0
				net.Env.DropoutSeed = seed0 // the capture ran nothing
				if graph != nil {
					defer graph.Close()
					defer b.Free(lr)
				}
			}
			// The simulator writes its counters at a synchronisation: make
			// one, so that the capture is not counted in the timed steps.
			if err := b.Sync(); err != nil {
				return benchResult{}, err
			}
			if counters0, _, err = deviceCounters(); err != nil {
				return benchResult{}, err
			}
			cpu0 = threadCPU()
		}
		start := time.Now()
		b.CopyIn(x, hostX)
		b.CopyIn(labels, hostL)
		net.DrawDepth(r)
		uploadSeed() // eager steps too, once the masks read the base
		if graph != nil {
			b.CopyIn(lr, lrHost)
			if mask != nil {
				net.MaskInto(maskHost)
				b.CopyIn(mask, maskHost)
			}
			graph.Launch()
			net.Env.DropoutSeed += seedDelta
		} else {
			step()
		}
		if err := b.Sync(); err != nil {
			return benchResult{}, err
		}
		if i >= warmup {
			times = append(times, time.Since(start).Seconds()*1000)
		}
	}
	cpu := threadCPU() - cpu0
	counters1, haveCounters, err := deviceCounters()
	if err != nil {
		return benchResult{}, err
	}
	sorted := append([]float64(nil), times...)
	sort.Float64s(sorted)
	total := 0.0
	for _, t := range times {
		total += t
	}
	q := func(f float64) float64 { return sorted[int(f*float64(len(sorted)-1)+0.5)] }
	res := benchResult{Model: mc.Name, Batch: batch, Layout: layout.String(), Steps: steps, ImagesPerSec: float64(batch*steps) / (total / 1000),
		MedianMS: q(0.5), P10MS: q(0.1), P90MS: q(0.9), PeakBytes: -1, WorkspaceBytes: -1, Recompute: net.Env.Recompute, Fuse: net.Env.Fuse,
		CUDAGraphs: graph != nil, GraphNote: note, HostMSPerStep: cpu * 1000 / float64(steps)}
	if haveCounters && counters0 != nil {
		per := func(k string) *float64 { v := (counters1[k] - counters0[k]) / float64(steps); return &v }
		res.DriverCallsPerStep, res.KernelsPerStep = per("api_calls"), per("kernels_run")
	}
	if pr, ok := b.(peakReporter); ok {
		res.PeakBytes = pr.PeakBytes()
	}
	if wr, ok := b.(workspaceReporter); ok {
		res.WorkspaceBytes = wr.WorkspaceBytes()
	}
	sb, err := train.CountStepBytesIn(mc, batch, net.Env.Recompute, net.Env.Fuse, 0, 1, act, layout)
	if err != nil {
		return benchResult{}, fmt.Errorf("count the bytes of a step: %w", err)
	}
	res.BytesPerStep, res.BytesByOp = sb.Total, sb.ByOp
	return res, nil
}

// benchGraphs says why steps cannot be captured ("" when they can be
// tried), as train.Trainer does: an error for --cuda-graphs on.
func benchGraphs(b ops.Backend, mc models.Config, gm train.GraphMode) (string, error) {
	if gm == train.GraphsOff {
		return "", nil
	}
	why, can := train.CaptureBlocker(b, mc)
	if why != "" && gm == train.GraphsOn {
		return "", fmt.Errorf("--cuda-graphs on: %s", why)
	}
	if why != "" && !can {
		return "", nil // on the CPU eager is simply what runs
	}
	if why != "" {
		why = "CUDA graphs off: " + why
	}
	return why, nil
}

// captureBench captures step with the learning rate read from a device
// scalar; under auto a failed capture is a note, not an error.
func captureBench(b ops.Backend, step func(), p *ops.SGDParams, gm train.GraphMode) (ops.Graph, ops.Tensor, string, error) {
	c, ok := b.(ops.Capturer)
	if !ok {
		return nil, nil, "", nil
	}
	lr, err := b.Alloc(1)
	if err != nil {
		return nil, nil, "", err
	}
	b.CopyIn(lr, []float32{p.LR})
	p.LRTensor = lr
	err = c.BeginCapture()
	var g ops.Graph
	if err == nil {
		step()
		g, err = c.EndCapture()
	}
	if err != nil {
		p.LRTensor = nil
		b.Free(lr)
		if gm == train.GraphsOn {
			return nil, nil, "", fmt.Errorf("--cuda-graphs on: %w", err)
		}
		return nil, nil, "CUDA graphs off, launching every op: " + err.Error(), nil
	}
	return g, lr, "", nil
}

// h100Memory is the memory --bytes-only gives --recompute auto: an 80 GB
// card's (the H100 SXM's 80 GB), as train would find it.
const h100Memory = 80e9

// printStepBytes prints what one training step's ops move
// (train.CountStepBytes): no device, no timing, under a second.
func printStepBytes(mc models.Config, batch int, rc layers.Recompute, fuse bool, asJSON bool, act ops.DType, layout ops.Layout) error {
	sb, err := train.CountStepBytesIn(mc, batch, rc, fuse, h100Memory, 1, act, layout)
	if err != nil {
		return err
	}
	res := struct {
		Model        string           `json:"model"`
		Batch        int              `json:"batch"`
		Recompute    layers.Recompute `json:"recompute"`
		Storage      string           `json:"storage"`
		Layout       string           `json:"layout"`
		UnitsKept    int              `json:"units_kept"`
		Units        int              `json:"units"`
		UnitsKeep    string           `json:"units_keep"` // one 0 or 1 per unit, as pytorch_ref.py bytes --sd-keep takes
		BytesPerStep int64            `json:"bytes_per_step"`
		BytesByOp    map[string]int64 `json:"bytes_by_op"`
		// PeakBytes: the most the tensors hold at once, each at its
		// storage type's size (no workspace, no allocator rounding).
		PeakBytes int64 `json:"peak_bytes"`
	}{mc.Name, batch, sb.Recompute, act.String(), layout.String(), sb.Kept, sb.Units, keepString(sb.Keep), sb.Total, sb.ByOp, sb.PeakBytes}
	if asJSON {
		return printJSON(res)
	}
	fmt.Printf("%s batch %d, recompute %s, %d of %d units: ops move %s per step, tensors peak at %s (counted, %s %s activations)\n",
		res.Model, batch, sb.Recompute, sb.Kept, sb.Units, ops.Bytes(sb.Total), ops.Bytes(sb.PeakBytes), act, layout)
	return nil
}

func keepString(keep []bool) string {
	b := make([]byte, len(keep))
	for i, k := range keep {
		b[i] = '0'
		if k {
			b[i] = '1'
		}
	}
	return string(b)
}
