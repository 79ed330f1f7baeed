package cpuref

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// tensor is cpuref's ops.Tensor: a shape over float32 storage. A view shares
// its parent's slice, so a write through either is seen by both. A
// tensor of a half type (dtype) still holds float32 values, each one
// representable in dtype: every op rounds what it writes (store, half.go).
type tensor struct {
	shape  ops.Shape
	dtype  ops.DType
	layout ops.Layout // ops.NHWC only for 4-D shapes (layout.go)
	data   []float32
	owner  *Backend
	view   bool
	freed  bool
}

func (t *tensor) Shape() ops.Shape { return t.shape }

// DType and ElemBytes say the storage type the tensor emulates, so that
// byte counts (ops/opbytes) see 2 bytes for a half tensor.
func (t *tensor) DType() ops.DType { return t.dtype }
func (t *tensor) ElemBytes() int   { return t.dtype.Bytes() }

// Layout says how a 4-D tensor's elements lie in data (ops.Laid).
func (t *tensor) Layout() ops.Layout { return t.layout }

// get returns t as cpuref's tensor, or panics naming op when t is nil,
// belongs to another backend or was freed.
func (b *Backend) get(op string, t ops.Tensor) *tensor {
	if t == nil {
		panic(fmt.Sprintf("cpuref: %s: nil tensor", op))
	}
	ct, ok := t.(*tensor)
	if !ok || ct == nil {
		panic(fmt.Sprintf("cpuref: %s: tensor %T of shape %v is not a cpuref tensor", op, t, t.Shape()))
	}
	if ct.owner != b {
		panic(fmt.Sprintf("cpuref: %s: tensor of shape %v belongs to another cpuref backend", op, ct.shape))
	}
	if ct.freed {
		panic(fmt.Sprintf("cpuref: %s: tensor of shape %v used after Free", op, ct.shape))
	}
	return ct
}

// sameShape panics unless every tensor has the shape of the first.
func sameShape(op string, ts ...*tensor) {
	for _, t := range ts[1:] {
		if !t.shape.Equal(ts[0].shape) {
			panic(fmt.Sprintf("cpuref: %s: shape %v does not match %v", op, t.shape, ts[0].shape))
		}
	}
}

// wantShape panics unless t has exactly the shape want.
func wantShape(op, name string, t *tensor, want ...int) {
	if !t.shape.Equal(ops.Shape(want)) {
		panic(fmt.Sprintf("cpuref: %s: %s has shape %v, want %v", op, name, t.shape, ops.Shape(want)))
	}
}

// nchw returns t's four dimensions, or panics naming op.
func nchw(op, name string, t *tensor) (n, c, h, w int) {
	if len(t.shape) != 4 {
		panic(fmt.Sprintf("cpuref: %s: %s has shape %v, want (N,C,H,W)", op, name, t.shape))
	}
	return t.shape[0], t.shape[1], t.shape[2], t.shape[3]
}

// matrix returns the two dimensions of a rank-2 tensor, or panics naming op.
func matrix(op, name string, t *tensor) (rows, cols int) {
	if len(t.shape) != 2 {
		panic(fmt.Sprintf("cpuref: %s: %s has shape %v, want rank 2", op, name, t.shape))
	}
	return t.shape[0], t.shape[1]
}
