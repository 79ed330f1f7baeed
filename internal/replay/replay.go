// Package replay gives any ops.Backend the capture semantics of CUDA graphs
// (ops.Capturer, ops.Brancher), so that the code that captures a training
// step runs on the CPU reference in tests, without a GPU or the NVIDIA
// simulator: between BeginCapture and EndCapture the compute ops are
// recorded, not run (as stream capture records them); Graph.Launch runs the
// recording again with the arguments it was recorded with, reading device
// memory as it runs; CaptureIf records both bodies and picks one at each
// launch from the flag's value then, as a conditional node does. What the
// gpu backend refuses during a capture (Alloc, Free, CopyIn, CopyOut, Sync)
// panics here too.
package replay

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// Backend wraps Inner. Outside a capture every call goes straight to Inner.
type Backend struct {
	ops.Backend
	rec  *[]func() // where ops go while capturing; nil otherwise
	body bool      // inside a CaptureIf body
	// Branches counts the CaptureIf calls recorded, Launches the launches.
	Branches, Launches int
}

var (
	_ ops.Capturer = (*Backend)(nil)
	_ ops.Brancher = (*Backend)(nil)
)

// New wraps b.
func New(b ops.Backend) *Backend { return &Backend{Backend: b} }

// BeginCapture starts recording.
func (r *Backend) BeginCapture() error {
	if r.rec != nil {
		panic("ops: BeginCapture while capturing")
	}
	r.rec = new([]func())
	return nil
}

// EndCapture returns the recording.
func (r *Backend) EndCapture() (ops.Graph, error) {
	if r.rec == nil {
		panic("ops: EndCapture without BeginCapture")
	}
	if r.body {
		panic("ops: EndCapture inside a CaptureIf body")
	}
	g := &Graph{r: r, ops: *r.rec}
	r.rec = nil
	return g, nil
}

// CanBranch: any backend can, here.
func (r *Backend) CanBranch() error { return nil }

// CaptureIf records then and otherwise, then one op that runs one of them
// according to cond[i] when the recording runs.
func (r *Backend) CaptureIf(cond ops.Tensor, i int, then, otherwise func()) {
	switch {
	case r.rec == nil:
		panic("ops: CaptureIf outside a capture")
	case r.body:
		panic("ops: CaptureIf inside a CaptureIf body")
	}
	if i < 0 || i >= cond.Shape().Len() {
		panic(fmt.Sprintf("ops: CaptureIf index %d outside %v", i, cond.Shape()))
	}
	record := func(f func()) []func() {
		if f == nil {
			return nil
		}
		outer := r.rec
		var body []func()
		r.rec, r.body = &body, true
		f()
		r.rec, r.body = outer, false
		return body
	}
	yes, no := record(then), record(otherwise)
	flag := r.Backend.View(cond, i, 1)
	r.Branches++
	*r.rec = append(*r.rec, func() {
		v := []float32{0}
		if err := r.Backend.CopyOut(v, flag); err != nil {
			return // the sticky error reaches the caller at its next Sync
		}
		run := no
		if v[0] != 0 {
			run = yes
		}
		for _, op := range run {
			op()
		}
	})
}

// Graph is a recording.
type Graph struct {
	r   *Backend
	ops []func()
}

// Launch runs the recording.
func (g *Graph) Launch() {
	if g.ops == nil && g.r == nil {
		panic("ops: Launch of a closed graph")
	}
	g.r.notCapturing("Graph.Launch")
	g.r.Launches++
	for _, op := range g.ops {
		op()
	}
}

// Close drops the recording.
func (g *Graph) Close() error { g.ops, g.r = nil, nil; return nil }

func (r *Backend) notCapturing(what string) {
	if r.rec != nil {
		panic("ops: " + what + " during a capture (ops.Capturer)")
	}
}

// do runs op now, or records it while capturing.
func (r *Backend) do(op func()) {
	if r.rec != nil {
		*r.rec = append(*r.rec, op)
		return
	}
	op()
}

func (r *Backend) Alloc(shape ...int) (ops.Tensor, error) {
	r.notCapturing("Alloc")
	return r.Backend.Alloc(shape...)
}
func (r *Backend) Free(t ops.Tensor) { r.notCapturing("Free"); r.Backend.Free(t) }
func (r *Backend) CopyIn(dst ops.Tensor, src []float32) {
	r.notCapturing("CopyIn")
	r.Backend.CopyIn(dst, src)
}
func (r *Backend) CopyOut(dst []float32, src ops.Tensor) error {
	r.notCapturing("CopyOut")
	return r.Backend.CopyOut(dst, src)
}
func (r *Backend) Sync() error { r.notCapturing("Sync"); return r.Backend.Sync() }

func (r *Backend) Copy(dst, src ops.Tensor)       { r.do(func() { r.Backend.Copy(dst, src) }) }
func (r *Backend) Fill(t ops.Tensor, v float32)   { r.do(func() { r.Backend.Fill(t, v) }) }
func (r *Backend) AddBias(y, b ops.Tensor)        { r.do(func() { r.Backend.AddBias(y, b) }) }
func (r *Backend) BiasBackward(db, dy ops.Tensor) { r.do(func() { r.Backend.BiasBackward(db, dy) }) }
func (r *Backend) ReLUForward(y, x ops.Tensor)    { r.do(func() { r.Backend.ReLUForward(y, x) }) }
func (r *Backend) SigmoidForward(y, x ops.Tensor) { r.do(func() { r.Backend.SigmoidForward(y, x) }) }
func (r *Backend) ShortcutAForward(y, x ops.Tensor) {
	r.do(func() { r.Backend.ShortcutAForward(y, x) })
}
func (r *Backend) GlobalAvgPoolForward(y, x ops.Tensor) {
	r.do(func() { r.Backend.GlobalAvgPoolForward(y, x) })
}
func (r *Backend) LinearForward(y, x, w ops.Tensor) {
	r.do(func() { r.Backend.LinearForward(y, x, w) })
}
func (r *Backend) ConvForward(y, x, w ops.Tensor, p ops.ConvParams) {
	r.do(func() { r.Backend.ConvForward(y, x, w, p) })
}
func (r *Backend) ConvBackwardData(dx, dy, w ops.Tensor, p ops.ConvParams, add bool) {
	r.do(func() { r.Backend.ConvBackwardData(dx, dy, w, p, add) })
}
func (r *Backend) ConvBackwardFilter(dw, dy, x ops.Tensor, p ops.ConvParams) {
	r.do(func() { r.Backend.ConvBackwardFilter(dw, dy, x, p) })
}
func (r *Backend) BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	r.do(func() {
		r.Backend.BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd, p)
	})
}
func (r *Backend) BatchNormForwardInference(y, x, gamma, beta, runMean, runVar ops.Tensor, p ops.BatchNormParams) {
	r.do(func() { r.Backend.BatchNormForwardInference(y, x, gamma, beta, runMean, runVar, p) })
}
func (r *Backend) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	r.do(func() { r.Backend.BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd, p, add) })
}
func (r *Backend) BatchNormAddReLUForwardTraining(y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	r.do(func() {
		r.Backend.BatchNormAddReLUForwardTraining(y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd, p)
	})
}
func (r *Backend) BatchNormAddReLUBackward(dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	r.do(func() {
		r.Backend.BatchNormAddReLUBackward(dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd, p, add)
	})
}
func (r *Backend) ReLUBackward(dx, dy, y ops.Tensor, add bool) {
	r.do(func() { r.Backend.ReLUBackward(dx, dy, y, add) })
}
func (r *Backend) SigmoidBackward(dx, dy, y ops.Tensor, add bool) {
	r.do(func() { r.Backend.SigmoidBackward(dx, dy, y, add) })
}
func (r *Backend) AddTensor(y, x ops.Tensor, alpha, beta float32) {
	r.do(func() { r.Backend.AddTensor(y, x, alpha, beta) })
}
func (r *Backend) Mul(y, a, b ops.Tensor, beta float32) {
	r.do(func() { r.Backend.Mul(y, a, b, beta) })
}
func (r *Backend) DropoutMask(mask ops.Tensor, p float32, seed uint64) {
	r.do(func() { r.Backend.DropoutMask(mask, p, seed) })
}
func (r *Backend) DropoutMaskFrom(mask ops.Tensor, p float32, seed uint64, base ops.Tensor) {
	r.do(func() { r.Backend.DropoutMaskFrom(mask, p, seed, base) })
}
func (r *Backend) ShortcutABackward(dx, dy ops.Tensor, add bool) {
	r.do(func() { r.Backend.ShortcutABackward(dx, dy, add) })
}
func (r *Backend) GlobalAvgPoolBackward(dx, dy ops.Tensor, add bool) {
	r.do(func() { r.Backend.GlobalAvgPoolBackward(dx, dy, add) })
}
func (r *Backend) LinearBackwardData(dx, dy, w ops.Tensor, add bool) {
	r.do(func() { r.Backend.LinearBackwardData(dx, dy, w, add) })
}
func (r *Backend) LinearBackwardWeight(dw, dy, x ops.Tensor) {
	r.do(func() { r.Backend.LinearBackwardWeight(dw, dy, x) })
}
func (r *Backend) SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels ops.Tensor) {
	r.do(func() { r.Backend.SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels) })
}
func (r *Backend) Reduce(dst, x ops.Tensor, red ops.Reduction) {
	r.do(func() { r.Backend.Reduce(dst, x, red) })
}
func (r *Backend) SGDUpdate(w, dw, v ops.Tensor, p ops.SGDParams) {
	r.do(func() { r.Backend.SGDUpdate(w, dw, v, p) })
}
