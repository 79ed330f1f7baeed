package ops

import (
	"errors"
	"fmt"
)

// Layout is how a 4-D tensor's elements lie in memory (issue 22). Its
// shape stays logical NCHW in every layout, as PyTorch's channels_last
// keeps a tensor's sizes and changes only its strides ("Channels Last
// Memory Format in PyTorch", pytorch.org tutorials): ops, CopyIn and
// CopyOut see (n, c, h, w) whatever the storage, so no caller reorders
// data. Tensors of any other rank are NCHW, i.e. plain row-major.
type Layout uint8

const (
	NCHW Layout = iota // row-major over (N, C, H, W); the default, and all a backend must support
	NHWC               // channels last: element (n, c, h, w) at ((n·H + h)·W + w)·C + c, cuDNN's CUDNN_TENSOR_NHWC
)

func (l Layout) String() string {
	switch l {
	case NCHW:
		return "nchw"
	case NHWC:
		return "nhwc"
	}
	return fmt.Sprintf("Layout(%d)", uint8(l))
}

// ErrUnsupportedLayout is wrapped by AllocLayout when the backend cannot
// store the layout asked for (one without LayoutSupporter: NCHW only).
var ErrUnsupportedLayout = errors.New("storage layout not supported by this backend")

// LayoutSupporter is implemented by backends that can store 4-D tensors
// channels-last. Every op then accepts its 4-D tensors in either layout,
// in any mix, and computes the same values as for NCHW tensors: the
// layout changes where elements lie, never the arithmetic.
type LayoutSupporter interface {
	// SupportsLayout reports whether AllocLayout(…, l, …) can succeed.
	SupportsLayout(l Layout) bool
	// AllocLayout is AllocAs with storage layout l; l other than NCHW
	// needs a 4-D shape (it panics otherwise).
	AllocLayout(d DType, l Layout, shape ...int) (Tensor, error)
	// ViewLayout is View with storage layout l: the 4-D shape's elements
	// lie in l's order over t's elements [offset, offset+shape.Len()).
	// t must be NCHW (any rank: usually a flat buffer shared by
	// activations of several shapes), or an NHWC tensor viewed along its
	// batch as View allows.
	ViewLayout(t Tensor, l Layout, offset int, shape ...int) Tensor
}

// SupportsLayout reports whether b can store 4-D tensors in layout l.
func SupportsLayout(b Backend, l Layout) bool {
	if l == NCHW {
		return true
	}
	s, ok := b.(LayoutSupporter)
	return ok && s.SupportsLayout(l)
}

// AllocLayout allocates a zero-filled tensor of storage type d and layout
// l on b: AllocAs for NCHW, the backend's AllocLayout otherwise, and an
// error wrapping ErrUnsupportedLayout where b cannot store l. A layout
// other than NCHW with a shape that is not 4-D panics.
func AllocLayout(b Backend, d DType, l Layout, shape ...int) (Tensor, error) {
	if l == NCHW {
		return AllocAs(b, d, shape...)
	}
	if len(shape) != 4 {
		panic(fmt.Sprintf("ops: AllocLayout: %v needs a 4-D shape, got %v", l, Shape(shape)))
	}
	if !SupportsLayout(b, l) {
		return nil, fmt.Errorf("%s layout on %s: %w", l, b.Name(), ErrUnsupportedLayout)
	}
	if !Supports(b, d) {
		return nil, fmt.Errorf("%s storage on %s: %w", d, b.Name(), ErrUnsupportedPrecision)
	}
	return b.(LayoutSupporter).AllocLayout(d, l, shape...)
}

// ViewLayout is b.View where t already has layout l (for NHWC, a batch
// range), and the backend's ViewLayout for an NCHW t viewed as l. It
// panics for an NHWC t viewed as NCHW (its elements are not in that
// order) and where b cannot store l (allocation would have failed first).
func ViewLayout(b Backend, t Tensor, l Layout, offset int, shape ...int) Tensor {
	if LayoutOf(t) == l {
		return b.View(t, offset, shape...)
	}
	if l == NCHW {
		panic(fmt.Sprintf("ops: ViewLayout: a %v tensor of shape %v viewed as nchw: its elements are not in that order", LayoutOf(t), t.Shape()))
	}
	if !SupportsLayout(b, l) {
		panic(fmt.Sprintf("ops: ViewLayout: %s cannot store %v tensors", b.Name(), l))
	}
	return b.(LayoutSupporter).ViewLayout(t, l, offset, shape...)
}

// Laid is implemented by tensors that know their storage layout.
type Laid interface {
	Layout() Layout
}

// LayoutOf is t's storage layout: its own where it says, else NCHW.
func LayoutOf(t Tensor) Layout {
	if s, ok := t.(Laid); ok {
		return s.Layout()
	}
	return NCHW
}

// ToNHWC writes src, n·c·h·w elements in NCHW order, into dst in NHWC
// order; FromNHWC is its inverse. dst and src must not overlap.
func ToNHWC(dst, src []float32, n, c, h, w int) {
	checkPermute(dst, src, n, c, h, w)
	s := c * h * w
	for i := 0; i < n; i++ { // both layouts keep each sample contiguous
		transpose(dst[i*s:(i+1)*s], src[i*s:(i+1)*s], c, h*w)
	}
}

// FromNHWC writes src, in NHWC order, into dst in NCHW order.
func FromNHWC(dst, src []float32, n, c, h, w int) {
	checkPermute(dst, src, n, c, h, w)
	s := c * h * w
	hw := h * w
	for i := 0; i < n; i++ {
		// Contiguous writes and reads strided by c: the tiled transpose
		// the other way would write at a stride of H·W floats, a page
		// for 32×32, which maps every row of a tile to one cache set.
		d, x := dst[i*s:(i+1)*s], src[i*s:(i+1)*s]
		for ch := 0; ch < c; ch++ {
			row := d[ch*hw : ch*hw+hw]
			for p := range row {
				row[p] = x[p*c+ch]
			}
		}
	}
}

func checkPermute(dst, src []float32, n, c, h, w int) {
	if len(dst) != n*c*h*w || len(src) != n*c*h*w {
		panic(fmt.Sprintf("ops: NHWC permutation of (%d,%d,%d,%d) over %d and %d elements", n, c, h, w, len(dst), len(src)))
	}
}

// transpose writes the rows×cols row-major matrix src into dst as its
// cols×rows transpose, in square tiles so that both the reads and the
// strided writes stay within a few cache lines per tile.
func transpose(dst, src []float32, rows, cols int) {
	const tile = 16
	for r0 := 0; r0 < rows; r0 += tile {
		r1 := min(r0+tile, rows)
		for c0 := 0; c0 < cols; c0 += tile {
			c1 := min(c0+tile, cols)
			for r := r0; r < r1; r++ {
				row := src[r*cols : r*cols+cols]
				for col := c0; col < c1; col++ {
					dst[col*rows+r] = row[col]
				}
			}
		}
	}
}

// NHWCViewOK reports whether a view of shape s at element offset of an
// NHWC tensor of shape parent is a range of whole samples (n, C, H, W):
// the only views of an NHWC tensor the contract allows, since samples lie
// contiguous in both layouts and nothing else of one is a logical range.
func NHWCViewOK(parent Shape, offset int, s Shape) bool {
	_, c, h, w := parent.NCHW()
	sample := c * h * w
	return len(s) == 4 && s[1] == c && s[2] == h && s[3] == w && sample > 0 && offset%sample == 0
}

// The misuse every backend's LayoutSupporter methods refuse, in one place;
// who starts the panic message (the backend's package, or "ops").

// CheckAllocLayout panics unless l is a layout ops defines and, other
// than NCHW, comes with a 4-D shape.
func CheckAllocLayout(who string, l Layout, shape []int) {
	if l != NCHW && l != NHWC {
		panic(fmt.Sprintf("%s: AllocLayout: unknown layout %v", who, l))
	}
	if l != NCHW && len(shape) != 4 {
		panic(fmt.Sprintf("%s: AllocLayout: %v needs a 4-D shape, got %v", who, l, Shape(shape)))
	}
}

// CheckRelayoutView panics unless a tensor of layout from and shape parent
// may be viewed with shape in another layout l: only an NCHW tensor viewed
// as NHWC with a 4-D shape.
func CheckRelayoutView(who string, from Layout, parent Shape, l Layout, shape []int) {
	if from != NCHW || l != NHWC || len(shape) != 4 {
		panic(fmt.Sprintf("%s: ViewLayout: a %v tensor of shape %v as %v %v: want an nchw tensor viewed as nhwc with a 4-D shape", who, from, parent, l, Shape(shape)))
	}
}

// CheckNHWCView panics unless a view of shape s at offset of an NHWC
// tensor of shape parent is a batch range (NHWCViewOK).
func CheckNHWCView(who string, parent Shape, offset int, s Shape) {
	if !NHWCViewOK(parent, offset, s) {
		_, c, h, w := parent.NCHW()
		panic(fmt.Sprintf("%s: View: shape %v at element %d of an nhwc tensor of shape %v: an nhwc tensor can only be viewed along its batch, as (n,%d,%d,%d) at a multiple of %d",
			who, s, offset, parent, c, h, w, c*h*w))
	}
}
