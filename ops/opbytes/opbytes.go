// Package opbytes counts the bytes each op of an ops.Backend reads and
// writes: every tensor argument once, by its role (roles below), at the
// storage size its tensor reports (ops.ElemBytes). Summed over a training
// step this is a lower bound of the step's DRAM traffic on a GPU — a real
// kernel reads some inputs twice (batch norm: statistics, then
// normalisation), and convolutions' workspaces are not counted — and, on a
// memory-bound network, of its time: bytes / bandwidth (issue 22, "Measure
// without a GPU"). Views and reshapes are free; host transfers (CopyIn,
// CopyOut) are not device traffic and are not counted.
package opbytes

import (
	"fmt"
	"sort"

	"github.com/deepres/deepres/ops"
)

// Role is what an op does with one tensor argument.
type Role int

const (
	R  Role = iota // read once
	W              // written once (overwritten: not read)
	RW             // updated in place: read once and written once
	// Acc is a gradient output taking add (or a scale beta): written once
	// when it overwrites, read and written when it accumulates (dx += …).
	Acc
	// RSub reads only the elements option A's shortcut takes from its
	// (N,C,H,W) side: N·C·Ho·Wo of them, (Ho,Wo) being the other side's.
	RSub
	// AccSub is option A's gradient output dx (N,C,H,W): written whole
	// when it overwrites (zeros where the shortcut took nothing), read and
	// written at the N·C·Ho·Wo elements it takes when it accumulates.
	AccSub
)

// Roles gives, for every op of ops.Backend that moves device data, the role
// of each tensor argument in signature order, read from the op's comment in
// ops/backend.go. TestEveryBackendMethodHasRoles fails when an op is added
// to ops.Backend without its row here (or a listed op changes arity).
var Roles = map[string][]Role{
	"Copy": {W, R}, // dst, src
	"Fill": {W},

	"ConvForward":        {W, R, R},   // y overwritten; x, w
	"ConvBackwardData":   {Acc, R, R}, // dx (add?+=:=); dy, w
	"ConvBackwardFilter": {W, R, R},   // dw overwritten; dy, x

	"AddBias":      {RW, R}, // y += b, in place
	"BiasBackward": {W, R},  // db overwritten; dy

	// y; x, gamma, beta; runMean and runVar updated in place; saveMean and
	// saveInvStd written.
	"BatchNormForwardTraining":  {W, R, R, R, RW, RW, W, W},
	"BatchNormForwardInference": {W, R, R, R, R, R},
	// dx (add?+=:=); dgamma, dbeta overwritten; dy, x, gamma, saveMean, saveInvStd.
	"BatchNormBackward": {Acc, W, W, R, R, R, R, R},
	// y; x, z (nil: none), gamma, beta; runMean, runVar in place; saveMean,
	// saveInvStd written.
	"BatchNormAddReLUForwardTraining": {W, R, R, R, R, RW, RW, W, W},
	// dx, dz (nil: none) (add?+=:=); dgamma, dbeta overwritten; dy, y, x,
	// gamma, saveMean, saveInvStd.
	"BatchNormAddReLUBackward": {Acc, Acc, W, W, R, R, R, R, R, R},

	"ReLUForward":     {W, R},
	"ReLUBackward":    {Acc, R, R}, // dx; dy, y
	"SigmoidForward":  {W, R},
	"SigmoidBackward": {Acc, R, R},

	"AddTensor": {Acc, R},    // y = alpha·x + beta·y: y read only when beta != 0
	"Mul":       {Acc, R, R}, // y = a⊙b + beta·y: likewise

	"DropoutMask":     {W},
	"DropoutMaskFrom": {W, R}, // mask; base (the seed words)

	"ShortcutAForward":  {W, RSub},      // y whole (zero channels included); x strided
	"ShortcutABackward": {AccSub, RSub}, // dx; dy's first C channels at (Ho,Wo)

	"GlobalAvgPoolForward":  {W, R},
	"GlobalAvgPoolBackward": {Acc, R},

	"LinearForward":        {W, R, R},
	"LinearBackwardData":   {Acc, R, R},
	"LinearBackwardWeight": {W, R, R},

	// dlogits (nil: not computed), losses, correct written; logits, labels read.
	"SoftmaxCrossEntropy": {W, W, W, R, R},
	"Reduce":              {W, R},
	"SGDUpdate":           {RW, R, RW}, // w, dw, v (momentum)
}

// NotOps are the ops.Backend methods that move no device data an op
// counts: bookkeeping, views (free), host transfers (PCIe, not DRAM
// traffic of a step's kernels) and synchronisation.
var NotOps = map[string]bool{
	"Name": true, "Alloc": true, "Free": true, "View": true,
	"CopyIn": true, "CopyOut": true, "Sync": true, "Close": true,
}

// Counter forwards every call to Inner and adds each op's bytes under the
// op's name.
type Counter struct {
	Inner ops.Backend
	// Bytes and Calls are by op name (the ops.Backend method).
	Bytes map[string]int64
	Calls map[string]int
	// Laid counts, by op name, the 4-D tensor arguments the ops received
	// in each storage layout, so a test can see that a network built for
	// NHWC hands its ops NHWC activations (bytes do not tell).
	Laid map[string]map[ops.Layout]int
}

var _ ops.Backend = (*Counter)(nil)

// New wraps b.
func New(b ops.Backend) *Counter {
	return &Counter{Inner: b, Bytes: map[string]int64{}, Calls: map[string]int{}, Laid: map[string]map[ops.Layout]int{}}
}

// Total is the bytes of every op counted.
func (c *Counter) Total() int64 {
	var n int64
	for _, b := range c.Bytes {
		n += b
	}
	return n
}

// Reset clears the counts.
func (c *Counter) Reset() { clear(c.Bytes); clear(c.Calls); clear(c.Laid) }

// Kinds lists the op names counted, the most bytes first.
func (c *Counter) Kinds() []string {
	ks := make([]string, 0, len(c.Bytes))
	for k := range c.Bytes {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if c.Bytes[ks[i]] != c.Bytes[ks[j]] {
			return c.Bytes[ks[i]] > c.Bytes[ks[j]]
		}
		return ks[i] < ks[j]
	})
	return ks
}

// add counts op's tensors by Roles[op]; acc says whether its Acc and AccSub
// outputs accumulate. A nil tensor (an output not asked for) counts nothing.
func (c *Counter) add(op string, acc bool, ts ...ops.Tensor) {
	roles, ok := Roles[op]
	if !ok || len(roles) != len(ts) {
		panic(fmt.Sprintf("opbytes: %s: no roles for its %d tensors", op, len(ts)))
	}
	var n int64
	for i, t := range ts {
		if t == nil {
			continue
		}
		if len(t.Shape()) == 4 {
			if c.Laid[op] == nil {
				c.Laid[op] = map[ops.Layout]int{}
			}
			c.Laid[op][ops.LayoutOf(t)]++
		}
		all, e := ops.TensorBytes(t), int64(ops.ElemBytes(t))
		switch roles[i] {
		case R, W:
			n += all
		case RW:
			n += 2 * all
		case Acc:
			n += all
			if acc {
				n += all
			}
		case RSub:
			n += e * subElems(ts)
		case AccSub:
			if acc {
				n += 2 * e * subElems(ts)
			} else {
				n += all
			}
		}
	}
	c.Bytes[op] += n
	c.Calls[op]++
}

// subElems is N·C·Ho·Wo for option A's shortcut, whose two tensors are the
// (N,C,H,W) side and the (N,K,Ho,Wo) side, in either order.
func subElems(ts []ops.Tensor) int64 {
	a, b := ts[0].Shape(), ts[1].Shape()
	if len(a) != 4 || len(b) != 4 {
		panic(fmt.Sprintf("opbytes: option A's shortcut on shapes %v and %v", a, b))
	}
	if a[2] < b[2] { // a is the (N,K,Ho,Wo) side
		a, b = b, a
	}
	return int64(a[0]) * int64(min(a[1], b[1])) * int64(b[2]) * int64(b[3])
}

func (c *Counter) Name() string                           { return c.Inner.Name() }
func (c *Counter) Alloc(shape ...int) (ops.Tensor, error) { return c.Inner.Alloc(shape...) }
func (c *Counter) Free(t ops.Tensor)                      { c.Inner.Free(t) }
func (c *Counter) View(t ops.Tensor, off int, shape ...int) ops.Tensor {
	return c.Inner.View(t, off, shape...)
}
func (c *Counter) CopyIn(dst ops.Tensor, src []float32)        { c.Inner.CopyIn(dst, src) }
func (c *Counter) CopyOut(dst []float32, src ops.Tensor) error { return c.Inner.CopyOut(dst, src) }
func (c *Counter) Sync() error                                 { return c.Inner.Sync() }
func (c *Counter) Close() error                                { return c.Inner.Close() }

func (c *Counter) Copy(dst, src ops.Tensor)     { c.add("Copy", false, dst, src); c.Inner.Copy(dst, src) }
func (c *Counter) Fill(t ops.Tensor, v float32) { c.add("Fill", false, t); c.Inner.Fill(t, v) }

func (c *Counter) ConvForward(y, x, w ops.Tensor, p ops.ConvParams) {
	c.add("ConvForward", false, y, x, w)
	c.Inner.ConvForward(y, x, w, p)
}
func (c *Counter) ConvBackwardData(dx, dy, w ops.Tensor, p ops.ConvParams, add bool) {
	c.add("ConvBackwardData", add, dx, dy, w)
	c.Inner.ConvBackwardData(dx, dy, w, p, add)
}
func (c *Counter) ConvBackwardFilter(dw, dy, x ops.Tensor, p ops.ConvParams) {
	c.add("ConvBackwardFilter", false, dw, dy, x)
	c.Inner.ConvBackwardFilter(dw, dy, x, p)
}
func (c *Counter) AddBias(y, b ops.Tensor) { c.add("AddBias", false, y, b); c.Inner.AddBias(y, b) }
func (c *Counter) BiasBackward(db, dy ops.Tensor) {
	c.add("BiasBackward", false, db, dy)
	c.Inner.BiasBackward(db, dy)
}
func (c *Counter) BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	c.add("BatchNormForwardTraining", false, y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd)
	c.Inner.BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd, p)
}
func (c *Counter) BatchNormForwardInference(y, x, gamma, beta, runMean, runVar ops.Tensor, p ops.BatchNormParams) {
	c.add("BatchNormForwardInference", false, y, x, gamma, beta, runMean, runVar)
	c.Inner.BatchNormForwardInference(y, x, gamma, beta, runMean, runVar, p)
}
func (c *Counter) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	c.add("BatchNormBackward", add, dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd)
	c.Inner.BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd, p, add)
}
func (c *Counter) BatchNormAddReLUForwardTraining(y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	c.add("BatchNormAddReLUForwardTraining", false, y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd)
	c.Inner.BatchNormAddReLUForwardTraining(y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd, p)
}
func (c *Counter) BatchNormAddReLUBackward(dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	c.add("BatchNormAddReLUBackward", add, dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd)
	c.Inner.BatchNormAddReLUBackward(dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd, p, add)
}
func (c *Counter) ReLUForward(y, x ops.Tensor) {
	c.add("ReLUForward", false, y, x)
	c.Inner.ReLUForward(y, x)
}
func (c *Counter) ReLUBackward(dx, dy, y ops.Tensor, add bool) {
	c.add("ReLUBackward", add, dx, dy, y)
	c.Inner.ReLUBackward(dx, dy, y, add)
}
func (c *Counter) SigmoidForward(y, x ops.Tensor) {
	c.add("SigmoidForward", false, y, x)
	c.Inner.SigmoidForward(y, x)
}
func (c *Counter) SigmoidBackward(dx, dy, y ops.Tensor, add bool) {
	c.add("SigmoidBackward", add, dx, dy, y)
	c.Inner.SigmoidBackward(dx, dy, y, add)
}
func (c *Counter) AddTensor(y, x ops.Tensor, alpha, beta float32) {
	c.add("AddTensor", beta != 0, y, x)
	c.Inner.AddTensor(y, x, alpha, beta)
}
func (c *Counter) Mul(y, a, b ops.Tensor, beta float32) {
	c.add("Mul", beta != 0, y, a, b)
	c.Inner.Mul(y, a, b, beta)
}
func (c *Counter) DropoutMask(mask ops.Tensor, p float32, seed uint64) {
	c.add("DropoutMask", false, mask)
	c.Inner.DropoutMask(mask, p, seed)
}
func (c *Counter) DropoutMaskFrom(mask ops.Tensor, p float32, seed uint64, base ops.Tensor) {
	c.add("DropoutMaskFrom", false, mask, base)
	c.Inner.DropoutMaskFrom(mask, p, seed, base)
}
func (c *Counter) ShortcutAForward(y, x ops.Tensor) {
	c.add("ShortcutAForward", false, y, x)
	c.Inner.ShortcutAForward(y, x)
}
func (c *Counter) ShortcutABackward(dx, dy ops.Tensor, add bool) {
	c.add("ShortcutABackward", add, dx, dy)
	c.Inner.ShortcutABackward(dx, dy, add)
}
func (c *Counter) GlobalAvgPoolForward(y, x ops.Tensor) {
	c.add("GlobalAvgPoolForward", false, y, x)
	c.Inner.GlobalAvgPoolForward(y, x)
}
func (c *Counter) GlobalAvgPoolBackward(dx, dy ops.Tensor, add bool) {
	c.add("GlobalAvgPoolBackward", add, dx, dy)
	c.Inner.GlobalAvgPoolBackward(dx, dy, add)
}
func (c *Counter) LinearForward(y, x, w ops.Tensor) {
	c.add("LinearForward", false, y, x, w)
	c.Inner.LinearForward(y, x, w)
}
func (c *Counter) LinearBackwardData(dx, dy, w ops.Tensor, add bool) {
	c.add("LinearBackwardData", add, dx, dy, w)
	c.Inner.LinearBackwardData(dx, dy, w, add)
}
func (c *Counter) LinearBackwardWeight(dw, dy, x ops.Tensor) {
	c.add("LinearBackwardWeight", false, dw, dy, x)
	c.Inner.LinearBackwardWeight(dw, dy, x)
}
func (c *Counter) SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels ops.Tensor) {
	c.add("SoftmaxCrossEntropy", false, dlogits, losses, correct, logits, labels)
	c.Inner.SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels)
}
func (c *Counter) Reduce(dst, x ops.Tensor, r ops.Reduction) {
	c.add("Reduce", false, dst, x)
	c.Inner.Reduce(dst, x, r)
}
func (c *Counter) SGDUpdate(w, dw, v ops.Tensor, p ops.SGDParams) {
	c.add("SGDUpdate", false, w, dw, v)
	c.Inner.SGDUpdate(w, dw, v, p)
}
