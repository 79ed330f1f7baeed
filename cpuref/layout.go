package cpuref

import "github.com/deepres/deepres/ops"

// The CPU reference stores 4-D tensors channels-last when asked (issue 22,
// ops.LayoutSupporter), so that the conformance suite can hold a GPU's
// NHWC ops to it and a network can be checked to learn the same in either
// layout. Its ops compute in logical order: an op given any NHWC tensor
// gathers each one into a logical-order workspace, runs the NCHW code on
// those, and scatters what it wrote back (viaNCHW). The arithmetic is
// then the NCHW code's, operation for operation, so every op's result is
// bitwise the same in every layout and mix of layouts: an NHWC network
// on the CPU trains bitwise like an NCHW one. Element-wise ops whose
// tensors all share one layout skip the reordering: element i of each is
// the same logical element. The cost is two passes over each NHWC tensor
// per op; the CPU reference is for checking, and NCHW stays its fast path.

var _ ops.LayoutSupporter = (*Backend)(nil)

// SupportsLayout: the CPU reference stores both layouts ops defines.
func (b *Backend) SupportsLayout(l ops.Layout) bool { return l == ops.NCHW || l == ops.NHWC }

// AllocLayout is AllocAs with a storage layout (ops.LayoutSupporter).
func (b *Backend) AllocLayout(d ops.DType, l ops.Layout, shape ...int) (ops.Tensor, error) {
	ops.CheckAllocLayout("cpuref", l, shape)
	t, err := b.AllocAs(d, shape...)
	if err == nil {
		t.(*tensor).layout = l
	}
	return t, err
}

// ViewLayout is View with storage layout l (ops.LayoutSupporter).
func (b *Backend) ViewLayout(t ops.Tensor, l ops.Layout, offset int, shape ...int) ops.Tensor {
	ct := b.get("ViewLayout", t)
	if ct.layout == l {
		return b.View(t, offset, shape...) // for NHWC, a batch range or a panic
	}
	ops.CheckRelayoutView("cpuref", ct.layout, ct.shape, l, shape)
	v := b.View(t, offset, shape...).(*tensor)
	v.layout = l
	return v
}

// logical writes t's elements into dst in logical (NCHW) order.
func (b *Backend) logical(dst []float32, t *tensor) {
	if t.layout == ops.NHWC {
		b.permute(dst, t.data, t.shape, ops.FromNHWC)
		return
	}
	copy(dst, t.data)
}

// setLogical stores src, in logical order, into t's storage.
func (b *Backend) setLogical(t *tensor, src []float32) {
	if t.layout == ops.NHWC {
		b.permute(t.data, src, t.shape, ops.ToNHWC)
		return
	}
	copy(t.data, src)
}

// permute runs f (ops.ToNHWC or ops.FromNHWC) over the samples of a
// tensor of the given shape, spread over the threads: samples are
// contiguous in both layouts.
func (b *Backend) permute(dst, src []float32, shape ops.Shape, f func(dst, src []float32, n, c, h, w int)) {
	n, c, h, w := shape.NCHW()
	s := c * h * w
	if s == 0 {
		return
	}
	b.parallelRange(n, (grain+s-1)/s, func(lo, hi int) {
		f(dst[lo*s:hi*s], src[lo*s:hi*s], hi-lo, c, h, w)
	})
}

// opKind says how an op uses its tensors, for viaNCHW.
type opKind uint8

const (
	writeOnly   opKind = 0      // its outputs are written whole and not read (unless also passed as inputs)
	readWrite   opKind = 1 << 0 // its outputs are read too: add=true, beta != 0, updated in place
	elementWise opKind = 1 << 1 // element i of each tensor depends only on element i of the others
)

// rw is readWrite when read, else writeOnly.
func rw(read bool) opKind {
	if read {
		return readWrite
	}
	return writeOnly
}

// viaNCHW runs an op on logical-order stand-ins when any of ts (nil
// allowed) is NHWC: f gets ts with each NHWC tensor replaced by an NCHW
// workspace tensor holding its elements in logical order (one per
// distinct tensor, so aliasing is kept), and the first nOut tensors (the
// op's outputs: ops put them first) are stored back afterwards. An output
// that kind says is write-only, and that is not also an input, is not
// gathered first. It returns false, having done nothing, when no tensor
// is NHWC, or for an elementWise op when all share one layout; the op
// then runs on the storage itself.
func (b *Backend) viaNCHW(op string, nOut int, kind opKind, f func(ts []ops.Tensor), ts ...ops.Tensor) bool {
	nhwc, nchw := 0, 0
	for _, t := range ts {
		if t == nil {
			continue
		}
		if b.get(op, t).layout == ops.NHWC {
			nhwc++
		} else {
			nchw++
		}
	}
	if nhwc == 0 || (kind&elementWise != 0 && nchw == 0) {
		return false
	}
	orig := make([]*tensor, len(ts))
	args := make([]ops.Tensor, len(ts))
	k := 0
	for i, t := range ts {
		args[i] = t
		if t == nil {
			continue
		}
		ct := t.(*tensor)
		orig[i] = ct
		if ct.layout != ops.NHWC {
			continue
		}
		if j := sameTensor(orig[:i], ct); j >= 0 {
			args[i] = args[j]
			continue
		}
		if len(b.lay) <= k {
			b.lay = append(b.lay, nil)
		}
		if len(b.lay[k]) < len(ct.data) {
			b.lay[k] = make([]float32, len(ct.data))
		}
		tmp := &tensor{shape: ct.shape, dtype: ct.dtype, data: b.lay[k][:len(ct.data)], owner: b, view: true}
		k++
		if i >= nOut || kind&readWrite != 0 || isInput(ts, nOut, t) {
			b.logical(tmp.data, ct)
		}
		args[i] = tmp
	}
	f(args)
	for i := 0; i < nOut && i < len(ts); i++ {
		if ct := orig[i]; ct != nil && ct.layout == ops.NHWC && sameTensor(orig[:i], ct) < 0 {
			b.setLogical(ct, args[i].(*tensor).data)
		}
	}
	return true
}

// isInput reports whether t is also among the op's inputs, ts[nOut:].
func isInput(ts []ops.Tensor, nOut int, t ops.Tensor) bool {
	for _, u := range ts[min(nOut, len(ts)):] {
		if u == t {
			return true
		}
	}
	return false
}

// sameTensor is the index in ts of a tensor that is t, or -1.
func sameTensor(ts []*tensor, t *tensor) int {
	for j, u := range ts {
		if u == t {
			return j
		}
	}
	return -1
}
