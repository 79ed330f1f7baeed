package gpu

import (
	"fmt"

	"github.com/deepres/deepres/cudnn"
	"github.com/deepres/deepres/ops"
)

// dnnType is cuDNN's name of a storage type.
func dnnType(d ops.DType) cudnn.DataType {
	switch d {
	case ops.Float32:
		return cudnn.Float
	case ops.BFloat16:
		return cudnn.BFloat16
	case ops.Float16:
		return cudnn.Half
	}
	panic(fmt.Sprintf("ops: no cuDNN data type for %v", d))
}

// shape4 is t's logical NCHW shape (or (K,C,kh,kw) for a filter), type
// and layout for cuDNN (an NHWC filter is KRSC).
func shape4(t *tensor) cudnn.Shape4 {
	n, c, h, w := t.shape.NCHW()
	return cudnn.Shape4{N: n, C: c, H: h, W: w, Type: dnnType(t.dtype), Layout: t.dnnLayout()}
}

func convOf(p ops.ConvParams) cudnn.Conv {
	return cudnn.Conv{PadH: p.PadH, PadW: p.PadW, StrideH: p.StrideH, StrideW: p.StrideW}
}

// convShapes checks x, w and y against p, and that they have one storage
// type: cuDNN convolves float, half or bfloat16 data, each with x, w and y
// of that one type (cudnn.Handle.plan), so a layer casts its float32
// weight to the activations' type first (layers.Conv's half copy).
func convShapes(op string, x, w, y *tensor, p ops.ConvParams) {
	want := p.OutputShape(x.shape, w.shape)
	if !want.Equal(y.shape) {
		panic("ops: " + op + ": output shape " + y.shape.String() + ", want " + want.String())
	}
	if x.dtype != w.dtype || x.dtype != y.dtype {
		panic(fmt.Sprintf("ops: %s: storage types x %v, w %v, y %v: cuDNN convolves one type (Copy w to x's type first)", op, x.dtype, w.dtype, y.dtype))
	}
}

// convLaid runs a convolution call f (inside Backend.run) with x, w and y
// in x's layout: cuDNN is given one layout for all three (cudnn.Handle.plan),
// so a tensor in the other one, which the ops contract allows, goes
// through scratch (relaid). out is which of x, w, y the call writes (0, 1
// or 2), add whether it adds into it. The layers keep all three in one
// layout (layers.Conv views its half weight copy in the activations'),
// so a network pays nothing.
func (b *Backend) convLaid(x, w, y *tensor, out int, add bool, f func(x, w, y *tensor) error) error {
	ts := []*tensor{x, w, y}
	ts[0], ts[out] = ts[out], ts[0] // relaid wants the output first
	return b.relaid(x.layout, 1, add, func(as []*tensor) error {
		as = []*tensor{as[0], as[1], as[2]} // relaid reads its slice afterwards
		as[0], as[out] = as[out], as[0]
		return f(as[0], as[1], as[2])
	}, ts...)
}

// ConvForward: y (N,K,Ho,Wo) = x ⋆ w through cuDNN; y is written.
func (b *Backend) ConvForward(y, x, w ops.Tensor, p ops.ConvParams) {
	ty, tx, tw := b.ten(y, "ConvForward's y"), b.ten(x, "ConvForward's x"), b.ten(w, "ConvForward's w")
	convShapes("ConvForward", tx, tw, ty, p)
	b.run(func() error {
		return b.convLaid(tx, tw, ty, 2, false, func(tx, tw, ty *tensor) error {
			return b.dnn.ConvForward(ty.ptr, shape4(ty), tx.ptr, shape4(tx), tw.ptr, shape4(tw), convOf(p), b.work)
		})
	})
}

// ConvBackwardData: dx (add?+=:=) the gradient with respect to x.
func (b *Backend) ConvBackwardData(dx, dy, w ops.Tensor, p ops.ConvParams, add bool) {
	tdx, tdy, tw := b.ten(dx, "ConvBackwardData's dx"), b.ten(dy, "ConvBackwardData's dy"), b.ten(w, "ConvBackwardData's w")
	convShapes("ConvBackwardData", tdx, tw, tdy, p)
	b.run(func() error {
		return b.convLaid(tdx, tw, tdy, 0, add, func(tdx, tw, tdy *tensor) error {
			return b.convBackwardData(tdx, tdy, tw, p, add)
		})
	})
}

// convBackwardData is ConvBackwardData on tensors of one layout.
func (b *Backend) convBackwardData(tdx, tdy, tw *tensor, p ops.ConvParams, add bool) error {
	xs, ws, ys, c := shape4(tdx), shape4(tw), shape4(tdy), convOf(p)
	var scratch uint64
	if add && b.dnn.NeedsScratch(xs, ws, ys, c) {
		// The first call times algorithms by writing their output;
		// that must not land in a dx we add into.
		s, err := b.mem.get(tdx.bytes())
		if err != nil {
			return err
		}
		defer b.mem.put(s)
		scratch = s
	}
	return b.dnn.ConvBackwardData(tdx.ptr, xs, tdy.ptr, ys, tw.ptr, ws, c, add, b.work, scratch)
}

// ConvBackwardFilter: dw = the gradient with respect to w; written.
func (b *Backend) ConvBackwardFilter(dw, dy, x ops.Tensor, p ops.ConvParams) {
	tdw, tdy, tx := b.ten(dw, "ConvBackwardFilter's dw"), b.ten(dy, "ConvBackwardFilter's dy"), b.ten(x, "ConvBackwardFilter's x")
	convShapes("ConvBackwardFilter", tx, tdw, tdy, p)
	b.run(func() error {
		return b.convLaid(tx, tdw, tdy, 1, false, func(tx, tdw, tdy *tensor) error {
			return b.dnn.ConvBackwardFilter(tdw.ptr, shape4(tdw), tdy.ptr, shape4(tdy), tx.ptr, shape4(tx), convOf(p), b.work)
		})
	})
}
