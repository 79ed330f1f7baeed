package opstest

import (
	"testing"

	"github.com/deepres/deepres/ops"
)

// An NHWC pass (Options.Layout ops.NHWC) stores every 4-D tensor of each
// op's cases channels-last on the backend under test — activations, their
// gradients and convolution weights alike (cuDNN's NHWC convolutions want
// the filter in CUDNN_TENSOR_NHWC too: cudnnSetFilter4dDescriptor's
// format, cudnn_graph.h) — and compares with the NCHW reference. Shapes,
// CopyIn and CopyOut are logical NCHW in both (ops/backend.go, Layouts),
// so the cases and their expected values are the same; a backend that
// mixed up the orders would compute on scrambled data and fail every
// random case. With Options.MixLayouts the 4-D arguments alternate NHWC,
// NCHW, NHWC, … instead, for the "any mix" half of the contract.

// laid returns args with the pass's storage layout set on the 4-D ones.
func (s *suite) laid(args []arg) []arg {
	if s.o.Layout == ops.NCHW {
		return args
	}
	out := make([]arg, len(args))
	k := 0
	for i, a := range args {
		if len(a.shape) == 4 {
			if !s.o.MixLayouts || k%2 == 0 {
				a.layout = s.o.Layout
			}
			k++
		}
		out[i] = a
	}
	return out
}

// testLayout checks the storage primitives of an NHWC pass: copies in
// logical order between host and device and between layouts, views along
// the batch, the panics of every other view, and, through an NCHW view of
// the same storage, that the elements really lie channels-last.
func (s *suite) testLayout(t *testing.T) {
	b, l := s.b, s.o.Layout
	const n, c, h, w = 3, 4, 2, 5
	sample := c * h * w
	logical := uniform(newRand(), n*sample, -2, 2)
	ops.RoundSlice(s.o.DType, logical)
	alloc := func(t *testing.T, l ops.Layout, shape ...int) ops.Tensor {
		t.Helper()
		x, err := ops.AllocLayout(b, s.o.DType, l, shape...)
		if err != nil {
			t.Fatalf("AllocLayout(%v, %v, %v): %v", s.o.DType, l, shape, err)
		}
		t.Cleanup(func() { b.Free(x) })
		return x
	}
	t.Run("LayoutOf", func(t *testing.T) {
		x := alloc(t, l, n, c, h, w)
		if got := ops.LayoutOf(x); got != l {
			t.Errorf("LayoutOf(AllocLayout(%v)) = %v", l, got)
		}
		if !x.Shape().Equal(ops.Shape{n, c, h, w}) {
			t.Errorf("shape %v, want the logical (%d,%d,%d,%d)", x.Shape(), n, c, h, w)
		}
	})
	t.Run("CopyIn_CopyOut_logical", func(t *testing.T) {
		x := alloc(t, l, n, c, h, w)
		b.CopyIn(x, clone(logical))
		requireBitwise(t, "round trip", read(t, b, x), logical)
	})
	t.Run("storage_order", func(t *testing.T) {
		// A flat NCHW buffer viewed as 4-D NHWC: what goes in through the
		// view in logical order comes out of the buffer in NHWC order.
		flat := alloc(t, ops.NCHW, n*sample)
		b.CopyIn(ops.ViewLayout(b, flat, l, 0, n, c, h, w), clone(logical))
		want := make([]float32, len(logical))
		ops.ToNHWC(want, logical, n, c, h, w)
		requireBitwise(t, "storage under the NHWC view", read(t, b, flat), want)
	})
	t.Run("Copy_between_layouts", func(t *testing.T) {
		src := alloc(t, l, n, c, h, w)
		b.CopyIn(src, clone(logical))
		for _, dl := range []ops.Layout{ops.NCHW, l} {
			dst := alloc(t, dl, n, c, h, w)
			b.Copy(dst, src)
			requireBitwise(t, "Copy into "+dl.String(), read(t, b, dst), logical)
			back := alloc(t, l, n, c, h, w)
			b.Copy(back, dst)
			requireBitwise(t, "Copy from "+dl.String(), read(t, b, back), logical)
		}
	})
	t.Run("Fill", func(t *testing.T) {
		x := alloc(t, l, n, c, h, w)
		b.Fill(x, 1.5)
		requireBitwise(t, "filled", read(t, b, x), filled(n*sample, 1.5))
	})
	t.Run("View_batch", func(t *testing.T) {
		x := alloc(t, l, n, c, h, w)
		b.CopyIn(x, clone(logical))
		first := b.View(x, 0, 2, c, h, w)
		if ops.LayoutOf(first) != l {
			t.Errorf("a batch view of an %v tensor is %v", l, ops.LayoutOf(first))
		}
		requireBitwise(t, "first 2 samples", read(t, b, first), logical[:2*sample])
		last := b.View(x, 2*sample, 1, c, h, w)
		requireBitwise(t, "sample 2", read(t, b, last), logical[2*sample:])
		b.CopyIn(last, filled(sample, -1))
		requireBitwise(t, "parent after a write through the view", read(t, b, x), append(clone(logical[:2*sample]), filled(sample, -1)...))
	})
	t.Run("View_other_panics", func(t *testing.T) {
		x := alloc(t, l, n, c, h, w)
		for _, v := range []struct {
			name  string
			off   int
			shape []int
		}{
			{"flat", 0, []int{n * sample}},
			{"rank 2", 0, []int{n, sample}},
			{"channels", 0, []int{n, c / 2, h, w}},
			{"h and w swapped", 0, []int{n, c, w, h}},
			{"offset inside a sample", 1, []int{1, c, h, w}},
		} {
			t.Run(v.name, func(t *testing.T) { s.requirePanic(t, func() { b.View(x, v.off, v.shape...) }) })
		}
		t.Run("as nchw", func(t *testing.T) { s.requirePanic(t, func() { ops.ViewLayout(b, x, ops.NCHW, 0, n, c, h, w) }) })
		if ls, ok := b.(ops.LayoutSupporter); ok {
			t.Run("backend as nchw", func(t *testing.T) { s.requirePanic(t, func() { ls.ViewLayout(x, ops.NCHW, 0, n, c, h, w) }) })
		}
	})
}
