package ops

import "fmt"

// ConvParams describes a 2-D cross-correlation (what every deep-learning
// framework calls convolution). Dilation 1, one group; the kernel size comes
// from the weight tensor (out, in, kh, kw).
type ConvParams struct {
	StrideH, StrideW int
	PadH, PadW       int
}

// Conv returns square parameters: the same stride and padding on both axes.
func Conv(stride, pad int) ConvParams {
	return ConvParams{StrideH: stride, StrideW: stride, PadH: pad, PadW: pad}
}

// OutputShape is the shape of y = conv(x, w): (N, out, Ho, Wo) with
// Ho = (H + 2·PadH − kh)/StrideH + 1. It panics on mismatched shapes.
func (p ConvParams) OutputShape(x, w Shape) Shape {
	n, c, h, wd := x.NCHW()
	o, ci, kh, kw := w.NCHW()
	if c != ci {
		panic(fmt.Sprintf("ops: conv input %v has %d channels, weight %v expects %d", x, c, w, ci))
	}
	if p.StrideH < 1 || p.StrideW < 1 || p.PadH < 0 || p.PadW < 0 {
		panic("ops: conv stride must be >= 1 and padding >= 0")
	}
	ho := (h+2*p.PadH-kh)/p.StrideH + 1
	wo := (wd+2*p.PadW-kw)/p.StrideW + 1
	if ho < 1 || wo < 1 {
		panic("ops: conv kernel larger than padded input")
	}
	return Shape{n, o, ho, wo}
}

// BatchNormParams are the pinned batch-norm constants (docs/design.md):
// eps 1e-5 and running = (1−Momentum)·running + Momentum·batch with Momentum 0.1.
type BatchNormParams struct {
	Eps      float64
	Momentum float64
}

// DefaultBatchNorm is PyTorch's and cuDNN's convention, pinned by docs/design.md.
var DefaultBatchNorm = BatchNormParams{Eps: 1e-5, Momentum: 0.1}

// SGDParams configures one SGD step in PyTorch's convention:
//
//	g = dw + WeightDecay·w;  v = Momentum·v + g
//	step = g + Momentum·v (Nesterov) or v;  w -= LR·step
type SGDParams struct {
	LR          float32
	Momentum    float32
	WeightDecay float32
	Nesterov    bool
	// LRTensor, when not nil, is a one-element tensor holding the learning
	// rate, read when the update runs; LR is then ignored. A captured step
	// (Capturer) reads each launch's rate from there.
	LRTensor Tensor
}

// Reduction selects what Reduce sums.
type Reduction int

const (
	ReduceSum        Reduction = iota // Σ x
	ReduceSumSquares                  // Σ x²
	ReduceSumAbs                      // Σ |x|
)

func (r Reduction) String() string {
	switch r {
	case ReduceSum:
		return "sum"
	case ReduceSumSquares:
		return "sum-squares"
	case ReduceSumAbs:
		return "sum-abs"
	}
	return fmt.Sprintf("reduction(%d)", int(r))
}
