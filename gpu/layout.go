package gpu

import (
	"fmt"
	"slices"

	"github.com/deepres/deepres/cudnn"
	"github.com/deepres/deepres/ops"
)

// The GPU backend stores 4-D tensors channels-last when asked (issue 22,
// ops.LayoutSupporter), the layout NVIDIA's half-precision convolution
// kernels want (Deep Learning Performance guide, "Tensor Layouts In
// Memory: NCHW vs NHWC"). Shapes stay logical NCHW. cuDNN is told each
// tensor's layout (cudnn.Shape4.Layout: CUDNN_TENSOR_NHWC, filters KRSC);
// deepres's kernels that index by channel or position take an nhwc flag
// (kernels/common.cuh); element-wise kernels over tensors of one layout
// need nothing. The network gives an op its 4-D tensors in one layout;
// the contract allows any mix, which an op meets by converting the
// tensors not in its chosen layout through scratch (relaid) — extra
// passes only a mix pays, as activation.go does for a mix of types.

var _ ops.LayoutSupporter = (*Backend)(nil)

// Layout is t's storage layout (ops.Laid).
func (t *tensor) Layout() ops.Layout { return t.layout }

// nhwc is t's layout as a kernel flag.
func (t *tensor) nhwc() uint64 { return flag(t.layout == ops.NHWC) }

// dnnLayout is cuDNN's name of t's layout.
func (t *tensor) dnnLayout() cudnn.Layout {
	if t.layout == ops.NHWC {
		return cudnn.NHWC
	}
	return cudnn.NCHW
}

// SupportsLayout: both layouts ops defines.
func (b *Backend) SupportsLayout(l ops.Layout) bool { return l == ops.NCHW || l == ops.NHWC }

// AllocLayout is AllocAs with a storage layout (ops.LayoutSupporter).
func (b *Backend) AllocLayout(d ops.DType, l ops.Layout, shape ...int) (ops.Tensor, error) {
	ops.CheckAllocLayout("ops", l, shape)
	t, err := b.AllocAs(d, shape...)
	if err == nil {
		t.(*tensor).layout = l
	}
	return t, err
}

// ViewLayout is View with storage layout l (ops.LayoutSupporter), by
// cpuref's rules: a tensor already in l is viewed as View allows (an NHWC
// one along its batch only); otherwise only an NCHW tensor viewed as NHWC
// with a 4-D shape.
func (b *Backend) ViewLayout(x ops.Tensor, l ops.Layout, offset int, shape ...int) ops.Tensor {
	t := b.ten(x, "ViewLayout's tensor")
	if t.layout == l {
		return b.View(x, offset, shape...)
	}
	ops.CheckRelayoutView("ops", t.layout, t.shape, l, shape)
	v := b.View(x, offset, shape...).(*tensor)
	v.layout = l
	return v
}

// geometry is t's layout flag, channels and positions per channel as
// kernel arguments (dr_copy_laid): (0, 1, 1) for a tensor that is not 4-D,
// whose storage is its logical order.
func geometry(t *tensor) (nhwc, c, hw uint64) {
	if len(t.shape) != 4 {
		return 0, i32(1), i32(1)
	}
	_, ch, h, w := t.shape.NCHW()
	return t.nhwc(), i32(ch), i32(h * w)
}

// copyLaid queues dst = src in logical order, between any two layouts and
// types (called inside Backend.call): a memcpy when the storage orders and
// types agree, dr_cast when only the types differ, else dr_copy_laid.
func (b *Backend) copyLaid(dst, src *tensor) error {
	n := dst.len()
	if sameOrder(dst, src) {
		if dst.dtype == src.dtype {
			return b.copyDevice(dst.ptr, src.ptr, dst.bytes())
		}
		return b.launch("dr_cast", n, dst.ptr, dst.code(), src.ptr, src.code(), i32(n))
	}
	yl, yc, yhw := geometry(dst)
	xl, xc, xhw := geometry(src)
	return b.launch("dr_copy_laid", n, dst.ptr, dst.code(), yl, yc, yhw, src.ptr, src.code(), xl, xc, xhw, i32(n))
}

// sameOrder reports whether element i of a's storage is logical element i
// of b's: both in one layout, or (a layout of no effect) NHWC tensors with
// one channel or one position per channel, or NCHW ones.
func sameOrder(a, b *tensor) bool {
	return plain(a) == plain(b) && (plain(a) || a.shape.Equal(b.shape))
}

// plain reports whether t's storage order is its logical order.
func plain(t *tensor) bool { return t.layout != ops.NHWC || layoutFree(t) }

// layoutFree reports whether t is 4-D with one channel or one position
// per channel, whose elements lie in the same order in both layouts.
func layoutFree(t *tensor) bool {
	if len(t.shape) != 4 {
		return false
	}
	_, c, h, w := t.shape.NCHW()
	return c == 1 || h*w == 1
}

// oneOrder reports whether the tensors of ts (nil skipped) share one
// storage order, so that element-wise kernels can run on them as they are.
func oneOrder(ts ...*tensor) bool {
	var first *tensor
	for _, t := range ts {
		switch {
		case t == nil:
		case first == nil:
			first = t
		case !sameOrder(first, t):
			return false
		}
	}
	return true
}

// relaid runs f (inside Backend.run) on ts (nil allowed) with each tensor
// not in layout l replaced by a scratch tensor of layout l, of its shape
// and type: gathered from it first when it is an input (index nOut and
// on) or when keep (outputs that are read too: added into), and, for the
// first nOut (the op's outputs), copied back after f. A tensor given twice
// gets one scratch, so aliasing is kept. The scratch is the backend's
// conversion slots (slot), not blocks handed back to the allocator: a
// captured step that converts (a float32 conv's NCHW weight with NHWC
// activations) then neither allocates during the capture nor writes, at
// each replay, into a block a later allocation was given.
func (b *Backend) relaid(l ops.Layout, nOut int, keep bool, f func(ts []*tensor) error, ts ...*tensor) error {
	args := make([]*tensor, len(ts))
	k := 0
	for i, t := range ts {
		args[i] = t
		if t == nil || t.layout == l {
			continue
		}
		if layoutFree(t) { // same storage either way: relabel, for cuDNN's descriptors
			u := *t
			u.layout = l
			args[i] = &u
			continue
		}
		if j := sameTensor(ts[:i], t); j >= 0 {
			args[i] = args[j]
			continue
		}
		if l == ops.NHWC && len(t.shape) != 4 {
			panic(fmt.Sprintf("gpu: relaid: a %v tensor cannot be stored nhwc", t.shape))
		}
		p, err := b.slot(k, t.bytes())
		if err != nil {
			return err
		}
		k++
		s := &tensor{b: b, shape: t.shape, dtype: t.dtype, layout: l, ptr: p}
		if i >= nOut || keep || sameTensor(ts[nOut:], t) >= 0 {
			if err := b.copyLaid(s, t); err != nil {
				return err
			}
		}
		args[i] = s
	}
	if err := f(slices.Clone(args)); err != nil {
		return err
	}
	for i := 0; i < nOut && i < len(ts); i++ {
		if args[i] != ts[i] && args[i].ptr != ts[i].ptr && sameTensor(ts[:i], ts[i]) < 0 {
			if err := b.copyLaid(ts[i], args[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameTensor is the index in ts of a tensor with t's storage (pointer,
// type and layout), or -1.
func sameTensor(ts []*tensor, t *tensor) int {
	for j, u := range ts {
		if u != nil && u.ptr == t.ptr && u.dtype == t.dtype && u.layout == t.layout && u.len() == t.len() {
			return j
		}
	}
	return -1
}

// elementWise runs f (inside Backend.run) on ts as they are when they
// share a storage order, else on NCHW stand-ins (relaid): element i of
// each is then the same logical element.
func (b *Backend) elementWise(nOut int, keep bool, f func(ts []*tensor) error, ts ...*tensor) error {
	if oneOrder(ts...) {
		return f(ts)
	}
	return b.relaid(ops.NCHW, nOut, keep, f, ts...)
}

// slot returns conversion slot k (relaid's k-th converted tensor of an op)
// with room for n bytes. Slots are held for the backend's life
// (allocator.getReserved, outside PeakBytes as cpuref's own conversion
// workspace is) and reused by every op in stream order, so the steady
// state allocates nothing; a slot too small for a new size is replaced,
// the old block kept until Close, since a captured graph may still use it.
func (b *Backend) slot(k int, n int64) (uint64, error) {
	for len(b.slots) <= k {
		b.slots = append(b.slots, convSlot{})
	}
	s := &b.slots[k]
	if s.size < n {
		p, err := b.mem.getReserved(max(n, 4))
		if err != nil {
			return 0, err
		}
		s.ptr, s.size = p, n
	}
	return s.ptr, nil
}

// convSlot is one of relaid's scratch blocks.
type convSlot struct {
	ptr  uint64
	size int64
}
