package gpu

import (
	"github.com/deepres/deepres/cudnn"
	"github.com/deepres/deepres/ops"
)

func shape4(s ops.Shape) cudnn.Shape4 {
	n, c, h, w := s.NCHW()
	return cudnn.Shape4{n, c, h, w}
}

func convOf(p ops.ConvParams) cudnn.Conv {
	return cudnn.Conv{PadH: p.PadH, PadW: p.PadW, StrideH: p.StrideH, StrideW: p.StrideW}
}

// convShapes checks x, w and y against p (panicking with ops: messages).
func convShapes(op string, x, w, y *tensor, p ops.ConvParams) {
	want := p.OutputShape(x.shape, w.shape)
	if !want.Equal(y.shape) {
		panic("ops: " + op + ": output shape " + y.shape.String() + ", want " + want.String())
	}
}

// ConvForward: y (N,K,Ho,Wo) = x ⋆ w through cuDNN; y is written.
func (b *Backend) ConvForward(y, x, w ops.Tensor, p ops.ConvParams) {
	ty, tx, tw := b.ten(y, "ConvForward's y"), b.ten(x, "ConvForward's x"), b.ten(w, "ConvForward's w")
	convShapes("ConvForward", tx, tw, ty, p)
	b.run(func() error {
		return b.dnn.ConvForward(ty.ptr, shape4(ty.shape), tx.ptr, shape4(tx.shape), tw.ptr, shape4(tw.shape), convOf(p), b.work)
	})
}

// ConvBackwardData: dx (add?+=:=) the gradient with respect to x.
func (b *Backend) ConvBackwardData(dx, dy, w ops.Tensor, p ops.ConvParams, add bool) {
	tdx, tdy, tw := b.ten(dx, "ConvBackwardData's dx"), b.ten(dy, "ConvBackwardData's dy"), b.ten(w, "ConvBackwardData's w")
	convShapes("ConvBackwardData", tdx, tw, tdy, p)
	b.run(func() error {
		xs, ws, ys, c := shape4(tdx.shape), shape4(tw.shape), shape4(tdy.shape), convOf(p)
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
	})
}

// ConvBackwardFilter: dw = the gradient with respect to w; written.
func (b *Backend) ConvBackwardFilter(dw, dy, x ops.Tensor, p ops.ConvParams) {
	tdw, tdy, tx := b.ten(dw, "ConvBackwardFilter's dw"), b.ten(dy, "ConvBackwardFilter's dy"), b.ten(x, "ConvBackwardFilter's x")
	convShapes("ConvBackwardFilter", tx, tdw, tdy, p)
	b.run(func() error {
		return b.dnn.ConvBackwardFilter(tdw.ptr, shape4(tdw.shape), tdy.ptr, shape4(tdy.shape), tx.ptr, shape4(tx.shape), convOf(p), b.work)
	})
}
