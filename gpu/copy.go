package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/deepres/deepres/ops"
)

// staging is a pinned host buffer through which CopyIn and CopyOut move
// data, so that the copies are truly asynchronous DMA on the stream.
type staging struct {
	p    unsafe.Pointer // C memory from cuMemHostAlloc
	size int            // bytes
	used int            // bytes handed to copies not yet known complete
}

// stagingSize bounds the pinned buffer; larger copies go in chunks. A
// variable only so that tests can shrink it (SetStagingSize,
// export_test.go): wrap-around then happens within a few KiB. A Backend
// takes the size in force at its first upload.
var stagingSize = 64 << 20

func (s *staging) release() error {
	if s.p == nil {
		return nil
	}
	err := cuCheck("cuMemFreeHost", C.dr_cuMemFreeHost(s.p))
	*s = staging{}
	return err
}

// reserve returns n bytes of the staging buffer for an upload. When the
// buffer is used up it waits for the stream, after which every earlier copy
// out of it is finished and it can be reused from the start.
func (b *Backend) reserve(n int) (unsafe.Pointer, error) {
	s := &b.staging
	if s.p == nil {
		var p unsafe.Pointer
		if err := cuCheck("cuMemHostAlloc", C.dr_cuMemHostAlloc(&p, C.size_t(stagingSize))); err != nil {
			return nil, err
		}
		s.p, s.size = p, stagingSize
	}
	if s.used+n > s.size {
		if err := cuCheck("cuStreamSynchronize", C.dr_cuStreamSynchronize(b.stream)); err != nil {
			return nil, err
		}
		s.used = 0
	}
	p := unsafe.Add(s.p, s.used)
	s.used += (n + 255) &^ 255 // keep chunks aligned
	return p, nil
}

// stagingFloats is the largest chunk a copy moves through the staging
// buffer: all of it (the size in force before it is allocated).
func (b *Backend) stagingFloats() int {
	if b.staging.p != nil {
		return b.staging.size / 4
	}
	return stagingSize / 4
}

// CopyIn copies src into pinned staging memory before it returns and queues
// the upload on the stream, so the caller may reuse src at once (stronger
// than ops.Backend asks) while the upload overlaps queued compute. A half
// tensor's values are rounded on the host (ops.BF16Bits, ops.F16Bits), so
// that half the bytes cross the bus. An NHWC tensor's values are put in
// its order on the host too (hostOrder), so the bus carries its storage.
func (b *Backend) CopyIn(dst ops.Tensor, src []float32) {
	b.notCapturing("CopyIn")
	t := b.ten(dst, "CopyIn's dst")
	if len(src) != t.len() {
		panic(fmt.Sprintf("ops: CopyIn of %d values into %v", len(src), t.shape))
	}
	eb := t.dtype.Bytes()
	b.run(func() error {
		if !plain(t) {
			n, c, h, w := t.shape.NCHW()
			p := b.hostOrder(len(src))
			ops.ToNHWC(p, src, n, c, h, w)
			src = p
		}
		for off := 0; off < len(src); {
			n := min(len(src)-off, b.stagingFloats())
			p, err := b.reserve(n * eb)
			if err != nil {
				return err
			}
			encode(p, t.dtype, src[off:off+n])
			err = cuCheck("cuMemcpyHtoDAsync_v2", C.dr_cuMemcpyHtoDAsync(C.dr_CUdeviceptr(t.ptr+uint64(off*eb)), p, C.size_t(n*eb), b.stream))
			if err != nil {
				return err
			}
			off += n
		}
		return nil
	})
}

// CopyOut waits for all queued work, then downloads src through the staging
// buffer, widening half values to float32 on the host (exact), and puts
// an NHWC tensor's values in logical order there. It returns the sticky
// error, in which case dst is left unchanged.
func (b *Backend) CopyOut(dst []float32, src ops.Tensor) error {
	b.notCapturing("CopyOut")
	t := b.ten(src, "CopyOut's src")
	if len(dst) != t.len() {
		panic(fmt.Sprintf("ops: CopyOut of %v into %d values", t.shape, len(dst)))
	}
	eb := t.dtype.Bytes()
	b.run(func() (err error) {
		if !plain(t) {
			out := dst
			dst = b.hostOrder(len(out))
			defer func() {
				if err == nil {
					n, c, h, w := t.shape.NCHW()
					ops.FromNHWC(out, dst, n, c, h, w)
				}
			}()
		}
		if err := cuCheck("cuStreamSynchronize", C.dr_cuStreamSynchronize(b.stream)); err != nil {
			return err
		}
		b.staging.used = 0 // the stream is idle: every upload from staging is done
		for off := 0; off < len(dst); {
			n := min(len(dst)-off, b.stagingFloats())
			p, err := b.reserve(n * eb)
			if err != nil {
				return err
			}
			err = cuCheck("cuMemcpyDtoHAsync_v2", C.dr_cuMemcpyDtoHAsync(p, C.dr_CUdeviceptr(t.ptr+uint64(off*eb)), C.size_t(n*eb), b.stream))
			if err == nil {
				err = cuCheck("cuStreamSynchronize", C.dr_cuStreamSynchronize(b.stream))
			}
			if err != nil {
				return err
			}
			decode(dst[off:off+n], t.dtype, p)
			b.staging.used = 0
			off += n
		}
		return nil
	})
	return b.stickyErr()
}

// encode writes src into p as len(src) elements of type d.
func encode(p unsafe.Pointer, d ops.DType, src []float32) {
	switch d {
	case ops.BFloat16:
		h := unsafe.Slice((*uint16)(p), len(src))
		for i, v := range src {
			h[i] = ops.BF16Bits(v)
		}
	case ops.Float16:
		h := unsafe.Slice((*uint16)(p), len(src))
		for i, v := range src {
			h[i] = ops.F16Bits(v)
		}
	default:
		copy(unsafe.Slice((*float32)(p), len(src)), src)
	}
}

// decode widens len(dst) elements of type d at p into dst.
func decode(dst []float32, d ops.DType, p unsafe.Pointer) {
	switch d {
	case ops.BFloat16:
		for i, h := range unsafe.Slice((*uint16)(p), len(dst)) {
			dst[i] = math.Float32frombits(uint32(h) << 16)
		}
	case ops.Float16:
		for i, h := range unsafe.Slice((*uint16)(p), len(dst)) {
			dst[i] = ops.F16Value(h)
		}
	default:
		copy(dst, unsafe.Slice((*float32)(p), len(dst)))
	}
}

// hostOrder is a host buffer of n floats for an NHWC tensor's values in
// storage order, kept for the next copy (called inside Backend.run).
func (b *Backend) hostOrder(n int) []float32 {
	if cap(b.hostPerm) < n {
		b.hostPerm = make([]float32, n)
	}
	return b.hostPerm[:n]
}

// Copy copies src into dst on the device in logical order (copyLaid): a
// memcpy between tensors of one type and storage order, a cast kernel
// (dr_cast: widened, then rounded to dst's type to nearest even, as
// cpuref's Copy) between types, and dr_copy_laid between layouts (and
// types at once).
func (b *Backend) Copy(dst, src ops.Tensor) {
	d, s := b.ten(dst, "Copy's dst"), b.ten(src, "Copy's src")
	sameLen("Copy", d, s)
	b.run(func() error { return b.copyLaid(d, s) })
}

// Fill sets every element to v rounded to x's type: for float32 a 32-bit
// memset with v's bit pattern, for half a kernel (dr_fill; a view of a half
// tensor may start or end in the middle of a 32-bit word).
func (b *Backend) Fill(x ops.Tensor, v float32) {
	t := b.ten(x, "Fill's tensor")
	n := t.len()
	b.run(func() error {
		if t.dtype != ops.Float32 {
			return b.launch("dr_fill", n, t.ptr, t.code(), f32(v), i32(n))
		}
		return cuCheck("cuMemsetD32Async", C.dr_cuMemsetD32Async(C.dr_CUdeviceptr(t.ptr), C.uint(math.Float32bits(v)), C.size_t(n), b.stream))
	})
}

// copyDevice queues a device-to-device copy; called inside Backend.call.
func (b *Backend) copyDevice(dst, src uint64, bytes int64) error {
	return cuCheck("cuMemcpyDtoDAsync_v2", C.dr_cuMemcpyDtoDAsync(C.dr_CUdeviceptr(dst), C.dr_CUdeviceptr(src), C.size_t(bytes), b.stream))
}
