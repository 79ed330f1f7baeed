package train

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"gorgonia.org/tensor"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/ops"
)

// ErrDiverged is returned when the loss or the weights stop being finite.
// Nothing non-finite is ever written over a checkpoint, so what the run
// folder holds is the state before the divergence.
var ErrDiverged = errors.New("training diverged")

// diverged builds the error for a divergence seen at the current step,
// saying truthfully which checkpoint, if any, the run folder keeps.
func (t *Trainer) diverged(what string) error {
	dir := t.Cfg.Out
	msg := fmt.Sprintf("%v: %s at step %d (epoch %d)", ErrDiverged, what, t.pos.Step, t.pos.Epoch+1)
	if t.lastGood >= 0 {
		msg += fmt.Sprintf("; nothing was written over the checkpoints: %s holds step %d",
			filepath.Join(dir, "last.safetensors"), t.lastGood)
		msg += fmt.Sprintf("\nHINT: continue from it with a lower rate: deepres train --resume %s --override lr=%g (or warm-up: --override warmup-steps=N,warmup-lr=R)",
			dir, t.Cfg.LR/10)
	} else {
		msg += fmt.Sprintf("; no checkpoint was written before it, so there is nothing to resume in %s\nHINT: start again with a lower --lr or with warm-up (--warmup-steps, --warmup-lr)", dir)
	}
	return &divergedError{msg}
}

type divergedError struct{ msg string }

func (e *divergedError) Error() string        { return e.msg }
func (e *divergedError) Is(target error) bool { return target == ErrDiverged }

// checkWeights is the cheap test before an evaluation or a checkpoint: one
// norm (Σ|w|) over every parameter and one over the momentum, computed on
// the device; a NaN or Inf anywhere makes it non-finite.
func (t *Trainer) checkWeights() error {
	b := t.b
	dst := b.View(t.stats, 0, 1) // free: statistics are flushed first
	var v [1]float32
	for _, x := range []struct {
		name string
		t    ops.Tensor
	}{{"the weights", t.Net.Params.Values()}, {"the momentum", t.Net.Momentum()}} {
		b.Reduce(dst, x.t, ops.ReduceSumAbs)
		if err := b.CopyOut(v[:], dst); err != nil {
			return fmt.Errorf("step %d: %w", t.pos.Step, err)
		}
		if f := float64(v[0]); math.IsNaN(f) || math.IsInf(f, 0) {
			return t.diverged(fmt.Sprintf("the norm of %s became %v", x.name, f))
		}
	}
	return nil
}

// checkTensors refuses a state dict with any value a checkpoint may not hold
// (checkpoint.CheckValues: non-finite, beyond checkpoint.MaxAbs, a negative
// running variance), so that the run never writes what a read refuses: the
// last guard before a checkpoint is written (it costs one pass over data
// that is on the host anyway).
func (t *Trainer) checkTensors(tensors map[string]*tensor.Dense) error {
	for name, d := range tensors {
		if err := checkpoint.CheckValues(name, d.Data().([]float32)); err != nil {
			return t.diverged(err.Error())
		}
	}
	return nil
}
