package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/deepres/deepres/cudnn"
	"github.com/deepres/deepres/ops"
)

// MathMode selects whether convolutions and the linear layer may use
// TensorFloat-32 tensor cores.
type MathMode int

const (
	TF32 MathMode = iota // the default: TF32 allowed (cuDNN default math, cuBLAS TF32 tensor-op math)
	FP32                 // strict float32 (cuDNN FMA math, cuBLAS default math: no TF32, see blasMath)
)

// Options configure Open.
type Options struct {
	Math MathMode
	// Workspace is the cuDNN workspace in bytes; 0 means 256 MiB. Algorithms
	// that need more are not chosen.
	Workspace int64
}

// Backend is an ops.Backend on one CUDA device.
//
// Threading: ops check their arguments, then run their CUDA calls as a
// closure under a mutex (so a Backend may be used from any goroutine, one op
// at a time). By default the closure runs on the caller's goroutine, locked
// to its OS thread for the call, with the device's primary context made
// current on that thread first: a context may be current on several threads
// and cuDNN and cuBLAS handles may move between threads as long as they are
// not used concurrently, which the mutex ensures. That costs a cgo call per
// op. The alternative, DEEPRES_GPU_THREAD=worker, runs every closure on one
// dedicated OS thread; each op is then a round trip between two threads
// (two wake-ups, several microseconds), which on a deep, narrow network such
// as resnet-1202 (~10,000 ops a step) can cost more CPU time than the GPU
// spends on the step. The worker remains as a fallback and for comparison.
type Backend struct {
	mu     sync.Mutex
	calls  chan func() // worker mode only
	done   chan struct{}
	closed bool
	inline bool // run closures on the caller's thread (the default)

	// Touched only inside call.
	err error // the first device failure; later work is skipped
	// A capture in progress (graph.go): failures go to captureErr, not err.
	capturing  bool
	captureErr error
	pieces     *capture // what the capture recorded so far (branch.go)
	branchMod  *module  // dr_set_branches, loaded by CanBranch
	dev        C.dr_CUdevice
	ctx        C.dr_CUcontext
	stream     C.dr_CUstream
	mem        *allocator
	dnn        *cudnn.Handle
	blas       C.dr_cublasHandle
	mod        *module
	work       cudnn.Workspace
	staging    staging
	hostPerm   []float32  // CopyIn's and CopyOut's NHWC reordering (hostOrder)
	slots      []convSlot // relaid's layout-conversion scratch (layout.go)

	name string
	info DeviceInfo
	opts Options
}

var _ ops.Backend = (*Backend)(nil)

// Open makes a backend on device ordinal: it uses the device's primary
// context (retained once per process, never released), creates one stream, binds cuDNN and cuBLAS to it and compiles the
// kernels for the device's architecture. Missing libraries wrap
// ErrLibraryNotFound; a missing device wraps ErrNoDevice.
func Open(ordinal int, o Options) (*Backend, error) {
	devs, err := ListDevices()
	if err != nil {
		return nil, err
	}
	if ordinal < 0 || ordinal >= len(devs) {
		return nil, fmt.Errorf("device %d asked for, %d present: %w", ordinal, len(devs), ErrNoDevice)
	}
	if err := cudnn.Load(); err != nil {
		return nil, err
	}
	if err := loadCUBLAS(); err != nil {
		return nil, err
	}
	if err := loadNVRTC(); err != nil {
		return nil, err
	}
	if o.Workspace == 0 {
		o.Workspace = 256 << 20
	}
	b := &Backend{info: devs[ordinal], opts: o}
	switch mode := os.Getenv("DEEPRES_GPU_THREAD"); mode {
	case "", "caller":
		b.inline = true
	case "worker":
		b.calls, b.done = make(chan func()), make(chan struct{})
		go b.worker()
	default:
		return nil, fmt.Errorf("DEEPRES_GPU_THREAD=%q: want caller (the default) or worker", mode)
	}
	b.name = fmt.Sprintf("cuda:%d %s", ordinal, b.info.Name)
	var initErr error
	b.call(func() { initErr = b.init(ordinal) })
	if initErr != nil {
		b.call(func() { b.teardown() })
		b.stopWorker()
		return nil, fmt.Errorf("open %s: %w", b.name, initErr)
	}
	return b, nil
}

// stopWorker ends the worker goroutine, if there is one.
func (b *Backend) stopWorker() {
	if b.calls != nil {
		close(b.calls)
		<-b.done
	}
}

// worker runs closures on one locked OS thread until calls is closed. It
// never unlocks: the thread ends with the goroutine, taking its context
// binding with it.
func (b *Backend) worker() {
	runtime.LockOSThread()
	for f := range b.calls {
		f()
	}
	close(b.done)
}

// call runs f where CUDA calls may be made and returns when it has run:
// on this goroutine, its OS thread locked and the context current on it, or
// on the worker. Callers hold b.mu (or own b, in Open). If the context
// cannot be made current, f does not run: the error becomes the sticky one
// and is returned.
func (b *Backend) call(f func()) error {
	if !b.inline {
		ran := make(chan struct{})
		b.calls <- func() { f(); close(ran) }
		<-ran
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if b.ctx != nil { // nil until init retains it, and after teardown
		if err := cuCheck("cuCtxSetCurrent", C.dr_cuCtxSetCurrent(b.ctx)); err != nil {
			if b.err == nil {
				b.err = err
			}
			return err
		}
	}
	f()
	return nil
}

// run queues device work unless the backend has already failed; the first
// error is kept (sticky), as ops.Backend specifies.
func (b *Backend) run(f func() error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		panic("ops: backend used after Close")
	}
	b.call(func() {
		switch {
		case b.err != nil:
		case b.capturing:
			if b.captureErr == nil {
				b.captureErr = f()
			}
		default:
			b.err = f()
		}
	})
}

func (b *Backend) init(ordinal int) error {
	if err := cuCheck("cuDeviceGet", C.dr_cuDeviceGet(&b.dev, C.int(ordinal))); err != nil {
		return err
	}
	var err error
	if b.ctx, err = primaryContext(b.dev); err != nil {
		if b.info.ComputeMode != "default" {
			// CUDA_ERROR_DEVICE_UNAVAILABLE or _UNKNOWN, as cuda.h's
			// cuDevicePrimaryCtxRetain documents for these modes.
			return fmt.Errorf("%w (the GPU's compute mode is %s; nvidia-smi -c shows and sets it)", err, b.info.ComputeMode)
		}
		return err
	}
	if err := cuCheck("cuCtxSetCurrent", C.dr_cuCtxSetCurrent(b.ctx)); err != nil {
		return err
	}
	if err := cuCheck("cuStreamCreate", C.dr_cuStreamCreate(&b.stream)); err != nil {
		return err
	}
	b.mem = newAllocator(deviceMemory{})
	math := cudnn.TF32
	if b.opts.Math == FP32 {
		math = cudnn.FP32
	}
	if b.dnn, err = cudnn.NewHandle(unsafe.Pointer(b.stream), math); err != nil {
		return err
	}
	if err := b.initBLAS(); err != nil {
		return err
	}
	target, err := kernelTargetFor(b.info)
	if err != nil {
		return err
	}
	cubin, err := compileKernels(target)
	if err != nil {
		return err
	}
	if b.mod, err = loadKernels(cubin, kernelNames, target, b.info); err != nil {
		return err
	}
	p, err := b.mem.getReserved(b.opts.Workspace)
	if err != nil {
		return fmt.Errorf("cuDNN workspace: %w", err)
	}
	b.work = cudnn.Workspace{Ptr: p, Size: int(b.opts.Workspace)}
	return nil
}

// teardown releases what init made, in reverse order; it runs on the worker.
func (b *Backend) teardown() error {
	var errs []error
	if b.stream != nil {
		errs = append(errs, cuCheck("cuStreamSynchronize", C.dr_cuStreamSynchronize(b.stream)))
	}
	errs = append(errs, b.staging.release())
	if b.mem != nil {
		errs = append(errs, b.mem.release())
	}
	if b.mod != nil {
		errs = append(errs, b.mod.unload())
	}
	if b.branchMod != nil {
		errs = append(errs, b.branchMod.unload())
	}
	if b.blas != nil {
		errs = append(errs, blasCheck("cublasDestroy_v2", C.dr_cublasDestroy(b.blas)))
		b.blas = nil
	}
	if b.dnn != nil {
		errs = append(errs, b.dnn.Close())
	}
	if b.stream != nil {
		errs = append(errs, cuCheck("cuStreamDestroy_v2", C.dr_cuStreamDestroy(b.stream)))
		b.stream = nil
	}
	if b.ctx != nil {
		// Unbound from the thread, not released: the primary context stays
		// retained for the process (see primary).
		C.dr_cuCtxSetCurrent(nil)
		b.ctx = nil
	}
	return errors.Join(errs...)
}

// Name is "cuda:N <device name>".
func (b *Backend) Name() string { return b.name }

// Info describes the device the backend runs on.
func (b *Backend) Info() DeviceInfo { return b.info }

// Sync waits for the stream and returns the first device error.
func (b *Backend) Sync() error {
	b.notCapturing("Sync")
	b.run(func() error { return cuCheck("cuStreamSynchronize", C.dr_cuStreamSynchronize(b.stream)) })
	return b.stickyErr()
}

func (b *Backend) stickyErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		panic("ops: backend used after Close")
	}
	var err error
	b.call(func() { err = b.err })
	return err
}

// Close waits for queued work and frees all device memory; the primary
// context stays retained for the next Open (see primary). It is idempotent; it returns the sticky error, if any, joined with
// failures of the release itself.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	var err error
	b.call(func() { err = errors.Join(b.err, b.teardown()) })
	b.stopWorker()
	return err
}

// deviceMemory is the allocator's device: cuMemAlloc_v2/cuMemFree_v2 on the
// worker's current context.
type deviceMemory struct{}

func (deviceMemory) alloc(n int64) (uint64, error) {
	var p C.dr_CUdeviceptr
	r := C.dr_cuMemAlloc(&p, C.size_t(n))
	if r == C.DR_CUDA_ERROR_OUT_OF_MEMORY {
		var free, total C.size_t
		C.dr_cuMemGetInfo(&free, &total)
		return 0, fmt.Errorf("%w: %w", errDeviceOOM, oomError(n, int64(free), int64(total)))
	}
	if err := cuCheck("cuMemAlloc_v2", r); err != nil {
		return 0, err
	}
	return uint64(p), nil
}

func (deviceMemory) free(p uint64) error {
	return cuCheck("cuMemFree_v2", C.dr_cuMemFree(C.dr_CUdeviceptr(p)))
}

// PeakBytes is the most device memory the backend's tensors (activations,
// parameters, gradients, optimiser state; size classes included) have held
// at once: what the CPU reference's PeakBytes counts. The cuDNN workspace
// (WorkspaceBytes) and the pinned host staging buffer are not in it.
func (b *Backend) PeakBytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return -1
	}
	var p int64
	b.call(func() { p = b.mem.peak })
	return p
}

// WorkspaceBytes is the device memory the backend holds besides tensors for
// its whole life: the cuDNN workspace (Options.Workspace, 256 MiB by
// default) and cuBLAS's (4 or 32 MiB by architecture, see
// blasWorkspaceBytes). PeakBytes + WorkspaceBytes is the device memory
// deepres held at its peak, the figure comparable with PyTorch's
// torch.cuda.max_memory_allocated, which counts cuDNN's workspaces too.
func (b *Backend) WorkspaceBytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return -1
	}
	var w int64
	b.call(func() { w = b.mem.reserved })
	return w
}
