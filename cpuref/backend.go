package cpuref

import (
	"fmt"
	"math"
	"runtime"

	"github.com/deepres/deepres/ops"
)

// Backend runs every op on the CPU. It is not safe for concurrent use: one
// goroutine calls its ops, which spread their own work over Threads goroutines.
type Backend struct {
	threads int
	allocs  int
	live    int64 // bytes in tensors not yet freed
	peak    int64 // the most live bytes so far
	// scratch holds one im2col/gemm workspace per worker, grown on demand and
	// kept, so that a training step allocates nothing once warmed up.
	scratch [][]float32
	// acc is the float64 accumulator of ConvBackwardFilter, kept for the same reason.
	acc []float64
	// wT holds a transposed weight for ConvBackwardData.
	wT []float32
	// lay holds the logical-order stand-ins of NHWC tensors (viaNCHW),
	// cp a logical-order copy for Copy between layouts (layout.go).
	lay [][]float32
	cp  []float32
	// Limit, if positive, is the most bytes of live tensors: an Alloc beyond
	// it fails with ops.ErrOutOfMemory instead of the Go runtime dying with
	// "fatal error: out of memory" (which no caller can handle). deepres
	// sets it to the machine's available memory.
	Limit int64
}

var _ ops.Backend = (*Backend)(nil)

// New returns a backend that spreads each op over threads goroutines;
// threads <= 0 means runtime.GOMAXPROCS(0). Results are bitwise reproducible
// for a given thread count.
func New(threads int) *Backend {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Backend{threads: threads, scratch: make([][]float32, threads)}
}

// Name reports the thread count, e.g. "cpu (2 threads)".
func (b *Backend) Name() string {
	if b.threads == 1 {
		return "cpu (1 thread)"
	}
	return fmt.Sprintf("cpu (%d threads)", b.threads)
}

// Threads is the number of goroutines each op uses.
func (b *Backend) Threads() int { return b.threads }

// Allocs is the number of Alloc calls so far; tests use it to prove that a
// warmed-up training step allocates no tensor.
func (b *Backend) Allocs() int { return b.allocs }

// Data returns t's live storage, for tests and debugging: writes to it
// change t. An NHWC tensor's is in NHWC order (layout.go).
func (b *Backend) Data(t ops.Tensor) []float32 { return b.get("Data", t).data }

// Alloc returns a zero-filled tensor. It fails with ops.ErrOutOfMemory
// when the tensor would take the live bytes past Limit.
func (b *Backend) Alloc(shape ...int) (ops.Tensor, error) {
	return b.AllocAs(ops.Float32, shape...)
}

// AllocAs is Alloc with a storage type (ops.PrecisionSupporter). Live and
// peak bytes count the float32 the emulation really holds, 4 per element
// whatever the type: Limit guards this process's memory.
func (b *Backend) AllocAs(d ops.DType, shape ...int) (ops.Tensor, error) {
	if !b.SupportsDType(d) {
		panic(fmt.Sprintf("cpuref: AllocAs: unknown storage type %v", d))
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("cpuref: Alloc: negative dimension in %v", ops.Shape(shape)))
		}
		if d > 0 && n > math.MaxInt64/16/int64(d) { // bytes would overflow
			return nil, fmt.Errorf("cpuref: a tensor of shape %v: %w", ops.Shape(shape), ops.ErrOutOfMemory)
		}
		n *= int64(d)
	}
	if b.Limit > 0 && b.live+4*n > b.Limit {
		return nil, fmt.Errorf("cpuref: a tensor of shape %v needs %s with %s of the %s available in use: %w",
			ops.Shape(shape), ops.Bytes(4*n), ops.Bytes(b.live), ops.Bytes(b.Limit), ops.ErrOutOfMemory)
	}
	b.allocs++
	s := ops.Shape(shape).Clone()
	b.live += 4 * int64(s.Len())
	b.peak = max(b.peak, b.live)
	return &tensor{shape: s, dtype: d, data: make([]float32, s.Len()), owner: b}, nil
}

// Free drops t's storage. Freeing nil is a no-op; freeing a view panics.
func (b *Backend) Free(t ops.Tensor) {
	if t == nil {
		return
	}
	ct := b.get("Free", t)
	if ct.view {
		panic(fmt.Sprintf("cpuref: Free: tensor of shape %v is a view; free the tensor it views", ct.shape))
	}
	if !ct.freed {
		b.live -= 4 * int64(len(ct.data))
	}
	ct.freed = true
	ct.data = nil
}

// PeakBytes is the most memory the backend's tensors have held at once
// (its own im2col workspaces not counted), what deepres bench reports.
func (b *Backend) PeakBytes() int64 { return b.peak }

// View returns a tensor of the given shape over t's elements
// [offset, offset+shape.Len()), sharing t's storage.
func (b *Backend) View(t ops.Tensor, offset int, shape ...int) ops.Tensor {
	ct := b.get("View", t)
	s := ops.Shape(shape).Clone()
	n := s.Len()
	for _, d := range s {
		if d < 0 {
			panic(fmt.Sprintf("cpuref: View: negative dimension in %v", s))
		}
	}
	if ct.layout == ops.NHWC {
		ops.CheckNHWCView("cpuref", ct.shape, offset, s)
	}
	if offset < 0 || offset+n > len(ct.data) {
		panic(fmt.Sprintf("cpuref: View: elements [%d,%d) of shape %v are outside a tensor of shape %v",
			offset, offset+n, s, ct.shape))
	}
	return &tensor{shape: s, dtype: ct.dtype, layout: ct.layout, data: ct.data[offset : offset+n : offset+n], owner: b, view: true}
}

// CopyIn copies src, in logical order, into dst; len(src) must equal dst's length.
func (b *Backend) CopyIn(dst ops.Tensor, src []float32) {
	d := b.get("CopyIn", dst)
	if len(src) != len(d.data) {
		panic(fmt.Sprintf("cpuref: CopyIn: %d host values into a tensor of shape %v", len(src), d.shape))
	}
	b.setLogical(d, src)
	b.store(d)
}

// CopyOut copies src into dst in logical order; len(dst) must equal src's
// length. It never fails.
func (b *Backend) CopyOut(dst []float32, src ops.Tensor) error {
	s := b.get("CopyOut", src)
	if len(dst) != len(s.data) {
		panic(fmt.Sprintf("cpuref: CopyOut: tensor of shape %v into %d host values", s.shape, len(dst)))
	}
	b.logical(dst, s)
	return nil
}

// Copy copies src into dst in logical order; their lengths must be equal
// (shapes may differ).
func (b *Backend) Copy(dst, src ops.Tensor) {
	d, s := b.get("Copy", dst), b.get("Copy", src)
	if len(d.data) != len(s.data) {
		panic(fmt.Sprintf("cpuref: Copy: shape %v into shape %v", s.shape, d.shape))
	}
	if d.layout == s.layout && (d.layout == ops.NCHW || d.shape.Equal(s.shape)) {
		copy(d.data, s.data)
	} else {
		if len(b.cp) < len(s.data) {
			b.cp = make([]float32, len(s.data))
		}
		buf := b.cp[:len(s.data)]
		b.logical(buf, s)
		b.setLogical(d, buf)
	}
	b.store(d)
}

// Fill sets every element of t to v.
func (b *Backend) Fill(t ops.Tensor, v float32) {
	ct := b.get("Fill", t)
	d := ct.data
	v = ops.Round(ct.dtype, v)
	for i := range d {
		d[i] = v
	}
}

// Sync has nothing to wait for: every op has finished when it returns.
func (b *Backend) Sync() error { return nil }

// Close drops the workspaces. It is idempotent.
func (b *Backend) Close() error {
	b.scratch = make([][]float32, b.threads)
	b.acc = nil
	b.wT = nil
	b.lay, b.cp = nil, nil
	return nil
}

// workspace returns worker i's scratch slice of at least n elements.
func (b *Backend) workspace(i, n int) []float32 {
	if len(b.scratch[i]) < n {
		b.scratch[i] = make([]float32, n)
	}
	return b.scratch[i][:n]
}
