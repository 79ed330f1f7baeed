package models

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// view returns the first n samples of t viewed with shape s (n first),
// in the activations' layout when s is 4-D (layers.Env.ActView).
func (net *Network) view(t ops.Tensor, s ops.Shape) ops.Tensor {
	return net.Env.ActView(t, s...)
}

// Loss computes the per-sample losses and correctness of the last Forward
// against labels (N), and, when grad is set, the gradient of the mean loss
// for Backward. Read them with Losses and Correct.
func (net *Network) Loss(labels ops.Tensor, grad bool) {
	n := net.batch
	var dl ops.Tensor
	if grad {
		dl = net.view(net.dlogits, ops.Shape{n, net.Cfg.Classes})
	}
	net.Env.B.SoftmaxCrossEntropy(dl, net.view(net.losses, ops.Shape{n}), net.view(net.correct, ops.Shape{n}), net.logits, labels)
	if grad && net.LossScale != nil {
		net.LossScale.scaleLoss(net.Env.B, dl)
	}
}

// Losses and Correct are the last Loss's per-sample outputs (N).
func (net *Network) Losses() ops.Tensor  { return net.view(net.losses, ops.Shape{net.batch}) }
func (net *Network) Correct() ops.Tensor { return net.view(net.correct, ops.Shape{net.batch}) }

// Backward computes every parameter gradient of the mean loss from the last
// Forward and Loss(…, true). Units dropped by stochastic depth run no kernel
// of their branch; their gradients are zeroed (not skipped), so weight decay
// and momentum still move their weights, as in Huang et al.'s code.
func (net *Network) Backward() {
	if !net.Env.Train {
		panic("models: Backward in evaluation mode")
	}
	b := net.Env.B
	n := net.batch
	net.zeroDropped()
	for s := range net.stageGrad {
		if net.rorUsed[s] {
			// The extra shortcuts add into *DSrc with this batch's shape: a
			// short last batch must not see the largest batch's accumulator.
			all := net.stageGradAll[s]
			net.stageGrad[s] = net.view(all, withN(all.Shape(), n))
			b.Fill(net.stageGrad[s], 0)
		}
	}
	dl := net.view(net.dlogits, ops.Shape{n, net.Cfg.Classes})
	dp := net.view(net.poolGrad, withN(net.poolGrad.Shape(), n))
	net.FC.Backward(dp, dl, false)
	feat := net.view(net.featGrad, withN(net.featGrad.Shape(), n))
	net.Pool.Backward(feat, dp, false)
	cur, slot := feat, -1
	if !net.Final.Empty() {
		last := net.Units[len(net.Units)-1].OutShape()
		slot = 0
		next := net.view(net.chain[0], withN(last, n))
		net.Final.Backward(next, cur, false)
		cur = next
	}
	for i := len(net.Units) - 1; i >= 0; i-- {
		u := net.Units[i]
		in := net.unitInShape(i, n)
		target, add, nextSlot := ops.Tensor(nil), false, 1-max(slot, 0)
		if s, ok := net.stageOf(i); ok && net.rorUsed[s] {
			target, add, nextSlot = net.view(net.stageGrad[s], in), true, -1
		} else {
			target = net.view(net.chain[nextSlot], in)
		}
		if u.Branched() {
			u.BackwardBranched(target, cur, add, func() { net.zeroUnit(i) })
			cur, slot = target, nextSlot
			continue
		}
		if u.PassThrough() {
			if add {
				b.AddTensor(target, cur, 1, 1)
				cur, slot = target, nextSlot
			}
			continue
		}
		u.Backward(target, cur, add)
		cur, slot = target, nextSlot
	}
	net.Stem.Backward(nil, cur, false)
	if net.LossScale != nil {
		net.LossScale.unscale(b, net.Params.Grads())
	}
}

// Rehearse runs a forward and a backward pass on x and labels with every
// unit kept, and changes nothing that outlasts the next step: BN running
// statistics stay frozen, the dropout seed and the units' draws are put
// back, no update is made, and the next step rewrites every gradient. What
// it leaves is the backend's caches: before a step with stochastic depth is
// captured, every form a launch may run has run once, so cuDNN's algorithm
// search, which cannot be captured, has been made for every shape (a unit
// dropped in the eager warm-up step would otherwise meet its first search
// inside the capture).
func (net *Network) Rehearse(x, labels ops.Tensor) {
	env := net.Env
	if !env.Train {
		panic("models: Rehearse in evaluation mode")
	}
	seed, frozen := env.DropoutSeed, env.FreezeStats
	active := make([]bool, len(net.Units))
	for i, u := range net.Units {
		active[i], u.Active = u.Active, true
	}
	env.FreezeStats = true
	net.Forward(x)
	net.Loss(labels, true)
	net.Backward()
	env.DropoutSeed, env.FreezeStats = seed, frozen
	for i, u := range net.Units {
		u.Active = active[i]
	}
}

// stageOf reports whether unit i starts a stage, and which.
func (net *Network) stageOf(i int) (int, bool) {
	for s, st := range net.StageStart {
		if st == i {
			return s, true
		}
	}
	return 0, false
}

func (net *Network) unitInShape(i, n int) ops.Shape {
	if i == 0 {
		return withN(net.stageIn[0].Shape(), n)
	}
	return withN(net.Units[i-1].OutShape(), n)
}

func withN(s ops.Shape, n int) ops.Shape {
	t := s.Clone()
	t[0] = n
	return t
}

// zeroDropped zeroes the gradients of units dropped this step (a branched
// unit's dropped form does so itself: Unit.BackwardBranched).
func (net *Network) zeroDropped() {
	for i, u := range net.Units {
		if !u.Active && !u.Branched() {
			net.zeroUnit(i)
		}
	}
}

// zeroUnit zeroes the gradients of unit i's parameters.
func (net *Network) zeroUnit(i int) {
	b := net.Env.B
	g := net.Params.Grads()
	for _, r := range net.unitRanges[i] {
		b.Fill(b.View(g, r.off, r.n), 0)
	}
}

// Step applies one SGD update to every parameter: one call over the flat
// buffers, or two when some parameters have no weight decay.
func (net *Network) Step(p ops.SGDParams) {
	b := net.Env.B
	if net.momentum == nil {
		panic("models: Step before SetupOptimizer")
	}
	n, d := net.Params.Count(), net.decayed
	update := b.SGDUpdate
	if ls := net.LossScale; ls != nil { // skipped when the gradients overflowed, then the scale moves
		update = func(w, dw, v ops.Tensor, p ops.SGDParams) {
			b.(ops.LossScaler).SGDUpdateUnlessFound(w, dw, v, ls.Found, p)
		}
		defer b.(ops.LossScaler).UpdateScale(ls.Scale, ls.Tracker, ls.Found, ls.P)
	}
	if d == n {
		update(net.Params.Values(), net.Params.Grads(), net.momentum, p)
		return
	}
	// Bind put the parameters with decay first: two runs, two calls.
	view := func(t ops.Tensor, off, len int) ops.Tensor { return b.View(t, off, len) }
	if d > 0 {
		update(view(net.Params.Values(), 0, d), view(net.Params.Grads(), 0, d), view(net.momentum, 0, d), p)
	}
	p.WeightDecay = 0
	update(view(net.Params.Values(), d, n-d), view(net.Params.Grads(), d, n-d), view(net.momentum, d, n-d), p)
}

// SetupOptimizer allocates the momentum buffer (zero).
func (net *Network) SetupOptimizer() error {
	if net.momentum != nil {
		return nil
	}
	net.momentum = net.Env.Alloc(net.Params.Count())
	if err := net.Env.Err(); err != nil {
		return fmt.Errorf("allocate momentum for %s: %w", net.Cfg.Name, err)
	}
	return net.setupLossScale()
}

// Momentum is the flat momentum buffer, in parameter layout order.
func (net *Network) Momentum() ops.Tensor { return net.momentum }
