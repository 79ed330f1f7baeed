package opbytes

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// Shapes is a backend whose tensors are shapes without storage and whose
// ops do nothing: under a Counter it runs a training step's op sequence —
// the same calls any backend receives, since the models decide them from
// shapes and flags, never from values — in microseconds and without memory,
// so that a step of resnet-1202 at batch 128 is counted on a 2-core machine.
// Values read back (CopyOut) are zeros. It keeps the live bytes so that
// Limit can play a device's memory (layers.RecomputeAuto picks its mode by
// it), and its peak (PeakBytes).
type Shapes struct {
	// Limit, if positive, is the most bytes of live tensors: an Alloc
	// beyond it fails with ops.ErrOutOfMemory.
	Limit      int64
	live, peak int64
}

// PeakBytes is the most bytes its tensors held at once, each at its
// storage type's size (ops.TensorBytes): what a device would hold for them,
// before workspaces and allocator rounding. The CPU reference's own
// PeakBytes counts the 4 bytes an element its emulation holds whatever the
// type, so this is the peak to read for half precision.
func (s *Shapes) PeakBytes() int64 { return s.peak }

var _ ops.Backend = (*Shapes)(nil)

type shapeTensor struct {
	shape  ops.Shape
	dtype  ops.DType  // storage type (precision.go)
	layout ops.Layout // storage layout (layout.go)
	view   bool
}

func (t *shapeTensor) Shape() ops.Shape { return t.shape }

// ElemBytes: its storage type's (4 for float32, 2 for a half type).
func (t *shapeTensor) ElemBytes() int { return t.dtype.Bytes() }

// DType says the storage type (ops.Typed), which models read to decide
// their ops (layers' castInput casts only an input not already of the
// activations' type): without it every Shapes tensor looked float32, and
// a half step counted a cast per conv that no backend receives.
func (t *shapeTensor) DType() ops.DType { return t.dtype }

func (s *Shapes) get(op string, t ops.Tensor) *shapeTensor {
	st, ok := t.(*shapeTensor)
	if !ok || st == nil {
		panic(fmt.Sprintf("opbytes: %s: tensor %T is not from this backend", op, t))
	}
	return st
}

func (s *Shapes) Name() string { return "shapes (no storage, no math)" }

func (s *Shapes) Alloc(shape ...int) (ops.Tensor, error) { return s.AllocAs(ops.Float32, shape...) }

// AllocAs is Alloc with a storage type (ops.PrecisionSupporter).
func (s *Shapes) AllocAs(d ops.DType, shape ...int) (ops.Tensor, error) {
	sh := ops.Shape(shape).Clone()
	for _, d := range sh {
		if d < 0 {
			panic(fmt.Sprintf("opbytes: Alloc: negative dimension in %v", sh))
		}
	}
	t := &shapeTensor{shape: sh, dtype: d}
	n := ops.TensorBytes(t)
	if s.Limit > 0 && s.live+n > s.Limit {
		return nil, fmt.Errorf("opbytes: a tensor of shape %v needs %s with %s of %s in use: %w",
			sh, ops.Bytes(n), ops.Bytes(s.live), ops.Bytes(s.Limit), ops.ErrOutOfMemory)
	}
	s.live += n
	s.peak = max(s.peak, s.live)
	return t, nil
}

func (s *Shapes) Free(t ops.Tensor) {
	if t == nil {
		return
	}
	st := s.get("Free", t)
	if st.view {
		panic(fmt.Sprintf("opbytes: Free: tensor of shape %v is a view; free the tensor it views", st.shape))
	}
	s.live -= ops.TensorBytes(st)
}

func (s *Shapes) View(t ops.Tensor, offset int, shape ...int) ops.Tensor {
	st := s.get("View", t)
	sh := ops.Shape(shape).Clone()
	if offset < 0 || offset+sh.Len() > st.shape.Len() {
		panic(fmt.Sprintf("opbytes: View: elements [%d,%d) of shape %v are outside a tensor of shape %v",
			offset, offset+sh.Len(), sh, st.shape))
	}
	if st.layout == ops.NHWC {
		ops.CheckNHWCView("opbytes", st.shape, offset, sh)
	}
	return &shapeTensor{shape: sh, dtype: st.dtype, layout: st.layout, view: true}
}

func (s *Shapes) CopyIn(dst ops.Tensor, src []float32) {
	if len(src) != s.get("CopyIn", dst).shape.Len() {
		panic(fmt.Sprintf("opbytes: CopyIn: %d host values into a tensor of shape %v", len(src), dst.Shape()))
	}
}

func (s *Shapes) CopyOut(dst []float32, src ops.Tensor) error {
	if len(dst) != s.get("CopyOut", src).shape.Len() {
		panic(fmt.Sprintf("opbytes: CopyOut: a tensor of shape %v into %d host values", src.Shape(), len(dst)))
	}
	clear(dst)
	return nil
}

func (s *Shapes) Copy(dst, src ops.Tensor)     {}
func (s *Shapes) Fill(t ops.Tensor, v float32) {}
func (s *Shapes) Sync() error                  { return nil }
func (s *Shapes) Close() error                 { return nil }

func (s *Shapes) ConvForward(y, x, w ops.Tensor, p ops.ConvParams)                  {}
func (s *Shapes) ConvBackwardData(dx, dy, w ops.Tensor, p ops.ConvParams, add bool) {}
func (s *Shapes) ConvBackwardFilter(dw, dy, x ops.Tensor, p ops.ConvParams)         {}
func (s *Shapes) AddBias(y, b ops.Tensor)                                           {}
func (s *Shapes) BiasBackward(db, dy ops.Tensor)                                    {}
func (s *Shapes) BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
}
func (s *Shapes) BatchNormForwardInference(y, x, gamma, beta, runMean, runVar ops.Tensor, p ops.BatchNormParams) {
}
func (s *Shapes) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
}
func (s *Shapes) BatchNormAddReLUForwardTraining(y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
}
func (s *Shapes) BatchNormAddReLUBackward(dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
}
func (s *Shapes) ReLUForward(y, x ops.Tensor)                                              {}
func (s *Shapes) ReLUBackward(dx, dy, y ops.Tensor, add bool)                              {}
func (s *Shapes) SigmoidForward(y, x ops.Tensor)                                           {}
func (s *Shapes) SigmoidBackward(dx, dy, y ops.Tensor, add bool)                           {}
func (s *Shapes) AddTensor(y, x ops.Tensor, alpha, beta float32)                           {}
func (s *Shapes) Mul(y, a, b ops.Tensor, beta float32)                                     {}
func (s *Shapes) DropoutMask(mask ops.Tensor, p float32, seed uint64)                      {}
func (s *Shapes) DropoutMaskFrom(mask ops.Tensor, p float32, seed uint64, base ops.Tensor) {}
func (s *Shapes) ShortcutAForward(y, x ops.Tensor)                                         {}
func (s *Shapes) ShortcutABackward(dx, dy ops.Tensor, add bool)                            {}
func (s *Shapes) GlobalAvgPoolForward(y, x ops.Tensor)                                     {}
func (s *Shapes) GlobalAvgPoolBackward(dx, dy ops.Tensor, add bool)                        {}
func (s *Shapes) LinearForward(y, x, w ops.Tensor)                                         {}
func (s *Shapes) LinearBackwardData(dx, dy, w ops.Tensor, add bool)                        {}
func (s *Shapes) LinearBackwardWeight(dw, dy, x ops.Tensor)                                {}
func (s *Shapes) SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels ops.Tensor)  {}
func (s *Shapes) Reduce(dst, x ops.Tensor, r ops.Reduction)                                {}
func (s *Shapes) SGDUpdate(w, dw, v ops.Tensor, p ops.SGDParams)                           {}
