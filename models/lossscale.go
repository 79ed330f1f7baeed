package models

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// LossScale is float16 loss scaling's state on the device (issue 22):
// three one-element float32 tensors that the ops of ops.LossScaler read
// and write, so a step decides its skip and its new scale without the
// host, captured or not. A network has one when its activations are
// float16 (bfloat16 has float32's range and needs none, as PyTorch's
// GradScaler is for float16 only).
//
// The step (Loss, Backward, Step) is GradScaler's: the gradient of the
// mean loss is multiplied by Scale where the float32 loss writes it
// (dlogits), so every float16 gradient behind it is Scale times larger
// and does not underflow (NVIDIA's Training with Mixed Precision guide,
// "loss scaling"); Backward ends by dividing the float32 parameter
// gradients by Scale and flagging an inf or NaN in Found (GradScaler.
// unscale_); Step skips the SGD update when flagged (GradScaler.step)
// and updates Scale and Tracker (GradScaler.update).
type LossScale struct {
	Scale, Tracker, Found ops.Tensor
	P                     ops.GradScalerParams
}

// setupLossScale gives the network its LossScale when it stores float16
// activations: Scale starts at P.InitScale, Tracker at 0.
func (net *Network) setupLossScale() error {
	if net.Env.Act != ops.Float16 || net.LossScale != nil {
		return nil
	}
	if _, ok := net.Env.B.(ops.LossScaler); !ok {
		return fmt.Errorf("%s has no float16 loss scaling (ops.LossScaler)", net.Env.B.Name())
	}
	e := net.Env
	ls := &LossScale{Scale: e.Alloc(1), Tracker: e.Alloc(1), Found: e.Alloc(1), P: ops.DefaultGradScaler}
	if err := e.Err(); err != nil {
		return err
	}
	e.B.Fill(ls.Scale, ls.P.InitScale)
	net.LossScale = ls
	return nil
}

// scaleLoss clears Found and multiplies the loss gradient dl by Scale.
func (ls *LossScale) scaleLoss(b ops.Backend, dl ops.Tensor) {
	b.Fill(ls.Found, 0)
	b.(ops.LossScaler).ScaleBy(dl, ls.Scale)
}

// unscale divides the parameter gradients by Scale, flagging an inf or NaN.
func (ls *LossScale) unscale(b ops.Backend, grads ops.Tensor) {
	b.(ops.LossScaler).UnscaleCheck(grads, ls.Found, ls.Scale)
}
