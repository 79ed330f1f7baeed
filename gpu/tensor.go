package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// tensor is device storage of one type (float32, bfloat16 or float16, as
// 4- or 2-byte elements): an allocation, or a view that is a pointer
// offset into one.
type tensor struct {
	b     *Backend
	shape ops.Shape
	dtype ops.DType // storage type; a view has its allocation's
	// layout is how a 4-D tensor's elements lie (layout.go); a view
	// of an NHWC tensor is a batch range of it, and NHWC too.
	layout ops.Layout
	ptr    uint64  // device address of element 0
	owner  *tensor // the allocation a view looks into; nil for an allocation
	freed  bool    // set on the allocation by Free
}

func (t *tensor) Shape() ops.Shape { return t.shape }

// DType is t's storage type (ops.Typed).
func (t *tensor) DType() ops.DType { return t.dtype }

// code is t's storage type as a kernel argument: the int type code beside
// each tensor pointer a kernel may receive in half (common.cuh's dr_ld and
// dr_st), equal to ops.DType's value.
func (t *tensor) code() uint64 { return i32(int(t.dtype)) }

func (t *tensor) len() int { return t.shape.Len() }

// bytes is the tensor's size in bytes.
func (t *tensor) bytes() int64 { return int64(t.len()) * int64(t.dtype.Bytes()) }

// ten checks that x is a live tensor of this backend; misuse panics.
func (b *Backend) ten(x ops.Tensor, what string) *tensor {
	if x == nil {
		panic(fmt.Sprintf("ops: %s is nil", what))
	}
	t, ok := x.(*tensor)
	if !ok || t.b != b {
		panic(fmt.Sprintf("ops: %s belongs to another backend", what))
	}
	if t.freed || (t.owner != nil && t.owner.freed) {
		panic(fmt.Sprintf("ops: %s was freed", what))
	}
	return t
}

// ten32 is ten for a tensor that must be float32: the loss, SGD's
// tensors, the loss scaler's state and batch norm's per-channel tensors
// (plan D1: kept in float32 as PyTorch autocast keeps them; cuDNN's derived
// batch-norm descriptor is FLOAT for HALF and BFLOAT16 data).
func (b *Backend) ten32(x ops.Tensor, what string) *tensor {
	t := b.ten(x, what)
	if t.dtype != ops.Float32 {
		panic(fmt.Sprintf("ops: %s is %v; it must be float32", what, t.dtype))
	}
	return t
}

// sameLen panics unless the tensors have as many elements as a.
func sameLen(op string, a *tensor, ts ...*tensor) {
	for _, t := range ts {
		if t.len() != a.len() {
			panic(fmt.Sprintf("ops: %s: shapes %v and %v differ in length", op, a.shape, t.shape))
		}
	}
}

// sameShape panics unless the tensors have a's shape.
func sameShape(op string, a *tensor, ts ...*tensor) {
	for _, t := range ts {
		if !t.shape.Equal(a.shape) {
			panic(fmt.Sprintf("ops: %s: shapes %v and %v differ", op, a.shape, t.shape))
		}
	}
}

// Alloc returns a zero-filled float32 tensor from the caching allocator.
func (b *Backend) Alloc(shape ...int) (ops.Tensor, error) {
	return b.AllocAs(ops.Float32, shape...)
}

// SupportsDType reports that every storage type ops defines can be
// allocated (ops.PrecisionSupporter): cuDNN and cuBLAS take HALF and
// BFLOAT16 data with float compute, and deepres's own kernels convert in
// software (kernels/common.cuh).
func (b *Backend) SupportsDType(d ops.DType) bool {
	return d == ops.Float32 || d == ops.BFloat16 || d == ops.Float16
}

// AllocAs returns a zero-filled tensor of storage type d (all-zero bits
// are +0 in every type).
func (b *Backend) AllocAs(d ops.DType, shape ...int) (ops.Tensor, error) {
	b.notCapturing("Alloc")
	if !b.SupportsDType(d) {
		panic(fmt.Sprintf("ops: AllocAs: unknown storage type %v", d))
	}
	s := ops.Shape(shape).Clone()
	for _, n := range s {
		if n < 0 {
			panic(fmt.Sprintf("ops: Alloc: negative dimension in %v", s))
		}
	}
	t := &tensor{b: b, shape: s, dtype: d}
	var err error
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		panic("ops: backend used after Close")
	}
	cerr := b.call(func() {
		if t.ptr, err = b.mem.get(max(t.bytes(), 4)); err != nil {
			return
		}
		// Whole 32-bit words: a half tensor of odd length has its last
		// word half outside it but inside the block (sizeClass rounds to
		// at least 512 bytes), which no other tensor shares.
		words := (t.bytes() + 3) / 4
		err = cuCheck("cuMemsetD32Async", C.dr_cuMemsetD32Async(C.dr_CUdeviceptr(t.ptr), 0, C.size_t(words), b.stream))
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("alloc %v: %w", s, err)
	}
	return t, nil
}

// Free returns t's block to the allocator's cache (never to the device
// until Close: no cuMemAlloc in the steady state).
func (b *Backend) Free(x ops.Tensor) {
	if x == nil {
		return
	}
	b.notCapturing("Free")
	t := b.ten(x, "Free's tensor")
	if t.owner != nil {
		panic("ops: Free of a view; free the tensor it views")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return // Close has freed every block already
	}
	t.freed = true
	// Work already queued on the stream may still use the block; a later
	// allocation reusing it is queued behind that work on the same stream.
	b.call(func() { b.mem.put(t.ptr) })
}

// View is a pointer offset into t's storage, of t's type and layout (for
// NHWC, a batch range only: ops.CheckNHWCView).
func (b *Backend) View(x ops.Tensor, offset int, shape ...int) ops.Tensor {
	t := b.ten(x, "View's tensor")
	s := ops.Shape(shape).Clone()
	if offset < 0 || offset+s.Len() > t.len() {
		panic(fmt.Sprintf("ops: View [%d, %d) out of range of %v", offset, offset+s.Len(), t.shape))
	}
	if t.layout == ops.NHWC {
		ops.CheckNHWCView("ops", t.shape, offset, s)
	}
	owner := t
	if t.owner != nil {
		owner = t.owner
	}
	return &tensor{b: b, shape: s, dtype: t.dtype, layout: t.layout, ptr: t.ptr + uint64(offset)*uint64(t.dtype.Bytes()), owner: owner}
}
