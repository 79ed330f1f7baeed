// Package opcount wraps an ops.Backend and counts the calls to each op, so
// tests can prove what ran: that a dropped stochastic-depth unit launches no
// kernel, that a warmed-up training step allocates nothing. It can also
// play a device with little memory (Limit).
package opcount

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// Backend forwards every call to Inner and counts it by op name.
type Backend struct {
	Inner  ops.Backend
	Counts map[string]int
	// Limit, if positive, is the most bytes of live tensors: an Alloc
	// beyond it fails with ops.ErrOutOfMemory, as a full device's would.
	Limit int64
	live  int64
}

var _ ops.Backend = (*Backend)(nil)

// New wraps b.
func New(b ops.Backend) *Backend { return &Backend{Inner: b, Counts: map[string]int{}} }

// Live is the bytes of tensors allocated and not yet freed.
func (c *Backend) Live() int64 { return c.live }

// Reset clears the counts.
func (c *Backend) Reset() { clear(c.Counts) }

// Sum is the total count of the named ops.
func (c *Backend) Sum(names ...string) int {
	n := 0
	for _, s := range names {
		n += c.Counts[s]
	}
	return n
}

func (c *Backend) Name() string { return c.Inner.Name() }
func (c *Backend) Alloc(shape ...int) (ops.Tensor, error) {
	c.Counts["Alloc"]++
	n := 4 * int64(ops.Shape(shape).Len())
	if c.Limit > 0 && c.live+n > c.Limit {
		return nil, fmt.Errorf("opcount: %d bytes with %d of %d in use: %w", n, c.live, c.Limit, ops.ErrOutOfMemory)
	}
	t, err := c.Inner.Alloc(shape...)
	if err == nil {
		c.live += n
	}
	return t, err
}
func (c *Backend) Free(t ops.Tensor) {
	c.Counts["Free"]++
	if t != nil {
		c.live -= 4 * int64(t.Shape().Len())
	}
	c.Inner.Free(t)
}
func (c *Backend) View(t ops.Tensor, off int, shape ...int) ops.Tensor {
	return c.Inner.View(t, off, shape...)
}
func (c *Backend) CopyIn(dst ops.Tensor, src []float32) {
	c.Counts["CopyIn"]++
	c.Inner.CopyIn(dst, src)
}
func (c *Backend) CopyOut(dst []float32, src ops.Tensor) error {
	c.Counts["CopyOut"]++
	return c.Inner.CopyOut(dst, src)
}
func (c *Backend) Copy(dst, src ops.Tensor)     { c.Counts["Copy"]++; c.Inner.Copy(dst, src) }
func (c *Backend) Fill(t ops.Tensor, v float32) { c.Counts["Fill"]++; c.Inner.Fill(t, v) }
func (c *Backend) Sync() error                  { return c.Inner.Sync() }
func (c *Backend) Close() error                 { return c.Inner.Close() }
func (c *Backend) ConvForward(y, x, w ops.Tensor, p ops.ConvParams) {
	c.Counts["ConvForward"]++
	c.Inner.ConvForward(y, x, w, p)
}
func (c *Backend) ConvBackwardData(dx, dy, w ops.Tensor, p ops.ConvParams, add bool) {
	c.Counts["ConvBackwardData"]++
	c.Inner.ConvBackwardData(dx, dy, w, p, add)
}
func (c *Backend) ConvBackwardFilter(dw, dy, x ops.Tensor, p ops.ConvParams) {
	c.Counts["ConvBackwardFilter"]++
	c.Inner.ConvBackwardFilter(dw, dy, x, p)
}
func (c *Backend) AddBias(y, b ops.Tensor) { c.Counts["AddBias"]++; c.Inner.AddBias(y, b) }
func (c *Backend) BiasBackward(db, dy ops.Tensor) {
	c.Counts["BiasBackward"]++
	c.Inner.BiasBackward(db, dy)
}
func (c *Backend) BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	c.Counts["BatchNormForwardTraining"]++
	c.Inner.BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd, p)
}
func (c *Backend) BatchNormForwardInference(y, x, gamma, beta, runMean, runVar ops.Tensor, p ops.BatchNormParams) {
	c.Counts["BatchNormForwardInference"]++
	c.Inner.BatchNormForwardInference(y, x, gamma, beta, runMean, runVar, p)
}
func (c *Backend) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	c.Counts["BatchNormBackward"]++
	c.Inner.BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd, p, add)
}
func (c *Backend) BatchNormAddReLUForwardTraining(y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	c.Counts["BatchNormAddReLUForwardTraining"]++
	c.Inner.BatchNormAddReLUForwardTraining(y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd, p)
}
func (c *Backend) BatchNormAddReLUBackward(dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	c.Counts["BatchNormAddReLUBackward"]++
	c.Inner.BatchNormAddReLUBackward(dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd, p, add)
}
func (c *Backend) ReLUForward(y, x ops.Tensor) { c.Counts["ReLUForward"]++; c.Inner.ReLUForward(y, x) }
func (c *Backend) ReLUBackward(dx, dy, y ops.Tensor, add bool) {
	c.Counts["ReLUBackward"]++
	c.Inner.ReLUBackward(dx, dy, y, add)
}
func (c *Backend) SigmoidForward(y, x ops.Tensor) {
	c.Counts["SigmoidForward"]++
	c.Inner.SigmoidForward(y, x)
}
func (c *Backend) SigmoidBackward(dx, dy, y ops.Tensor, add bool) {
	c.Counts["SigmoidBackward"]++
	c.Inner.SigmoidBackward(dx, dy, y, add)
}
func (c *Backend) AddTensor(y, x ops.Tensor, alpha, beta float32) {
	c.Counts["AddTensor"]++
	c.Inner.AddTensor(y, x, alpha, beta)
}
func (c *Backend) Mul(y, a, b ops.Tensor, beta float32) {
	c.Counts["Mul"]++
	c.Inner.Mul(y, a, b, beta)
}
func (c *Backend) DropoutMask(mask ops.Tensor, p float32, seed uint64) {
	c.Counts["DropoutMask"]++
	c.Inner.DropoutMask(mask, p, seed)
}
func (c *Backend) DropoutMaskFrom(mask ops.Tensor, p float32, seed uint64, base ops.Tensor) {
	c.Counts["DropoutMaskFrom"]++
	c.Inner.DropoutMaskFrom(mask, p, seed, base)
}
func (c *Backend) ShortcutAForward(y, x ops.Tensor) {
	c.Counts["ShortcutAForward"]++
	c.Inner.ShortcutAForward(y, x)
}
func (c *Backend) ShortcutABackward(dx, dy ops.Tensor, add bool) {
	c.Counts["ShortcutABackward"]++
	c.Inner.ShortcutABackward(dx, dy, add)
}
func (c *Backend) GlobalAvgPoolForward(y, x ops.Tensor) {
	c.Counts["GlobalAvgPoolForward"]++
	c.Inner.GlobalAvgPoolForward(y, x)
}
func (c *Backend) GlobalAvgPoolBackward(dx, dy ops.Tensor, add bool) {
	c.Counts["GlobalAvgPoolBackward"]++
	c.Inner.GlobalAvgPoolBackward(dx, dy, add)
}
func (c *Backend) LinearForward(y, x, w ops.Tensor) {
	c.Counts["LinearForward"]++
	c.Inner.LinearForward(y, x, w)
}
func (c *Backend) LinearBackwardData(dx, dy, w ops.Tensor, add bool) {
	c.Counts["LinearBackwardData"]++
	c.Inner.LinearBackwardData(dx, dy, w, add)
}
func (c *Backend) LinearBackwardWeight(dw, dy, x ops.Tensor) {
	c.Counts["LinearBackwardWeight"]++
	c.Inner.LinearBackwardWeight(dw, dy, x)
}
func (c *Backend) SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels ops.Tensor) {
	c.Counts["SoftmaxCrossEntropy"]++
	c.Inner.SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels)
}
func (c *Backend) Reduce(dst, x ops.Tensor, r ops.Reduction) {
	c.Counts["Reduce"]++
	c.Inner.Reduce(dst, x, r)
}
func (c *Backend) SGDUpdate(w, dw, v ops.Tensor, p ops.SGDParams) {
	c.Counts["SGDUpdate"]++
	c.Inner.SGDUpdate(w, dw, v, p)
}
