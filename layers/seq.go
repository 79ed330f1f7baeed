package layers

import "github.com/deepres/deepres/ops"

// Seq runs modules one after another: a residual branch, a stem, a
// pre-activation. Gradients between its modules live in two scratch slots.
type Seq struct {
	env  *Env
	Mods []Module
	in   []ops.Shape // input shape of each module, largest batch
	out  ops.Shape
}

// NewSeq returns a sequence of mods.
func NewSeq(e *Env, mods ...Module) *Seq { return &Seq{env: e, Mods: mods} }

func (s *Seq) Setup(in ops.Shape) ops.Shape {
	s.pairBNReLU()
	s.in = s.in[:0]
	for _, m := range s.Mods {
		s.in = append(s.in, in)
		in = m.Setup(in)
	}
	s.out = in
	return in
}

func (s *Seq) Forward(x ops.Tensor) ops.Tensor {
	for _, m := range s.Mods {
		x = m.Forward(x)
	}
	return x
}

// Replay reruns the forward pass for a recomputing unit (Unit.recompute):
// a stored conv (Conv.Stored) is not rerun, its output read instead, and
// the last module is left out when skipLast — for when its backward pass
// reads only its input (LastReadsOnlyInput). It returns the last output
// computed.
func (s *Seq) Replay(x ops.Tensor, skipLast bool) ops.Tensor {
	k := len(s.Mods)
	if skipLast && k > 0 {
		k--
	}
	return s.forwardFirst(k, x, true)
}

// storeConvs marks the convs of the sequence Stored, but the last module
// (whose output only forms the unit's sum) when exceptLast.
func (s *Seq) storeConvs(exceptLast bool) {
	for i, m := range s.Mods {
		if c, ok := m.(*Conv); ok && !(exceptLast && i == len(s.Mods)-1) {
			c.Stored = true
		}
	}
}

// LastReadsOnlyInput reports whether the last module's backward pass reads
// nothing of its forward pass but its input and its own state: a conv or a
// batch norm (whose saved statistics it owns), not an activation.
func (s *Seq) LastReadsOnlyInput() bool {
	if len(s.Mods) == 0 {
		return false
	}
	switch s.Mods[len(s.Mods)-1].(type) {
	case *Conv, *BatchNorm:
		return true
	}
	return false
}

func (s *Seq) Backward(dx, dy ops.Tensor, add bool) { s.backwardFirst(len(s.Mods), dx, dy, add) }

// backwardFirst is Backward through the first k modules only, dy being the
// gradient of module k−1's output. A ReLU fused into the batch norm before
// it (pairBNReLU) is skipped: that batch norm's backward applies its mask.
func (s *Seq) backwardFirst(k int, dx, dy ops.Tensor, add bool) {
	if k == 0 {
		panic("layers: Backward of an empty Seq")
	}
	n := dy.Shape()[0]
	f := s.env.Scratch.Frame(seqFrame * min(1, k-1))
	cur, slot := dy, 0
	for i := k - 1; i > 0; i-- {
		if r, ok := s.Mods[i].(*ReLU); ok && r.fused {
			continue
		}
		next := f.T(slot, withBatch(s.in[i], n)) // slots alternate: dy and dx never alias
		slot ^= 1
		s.Mods[i].Backward(next, cur, false)
		cur = next
	}
	s.Mods[0].Backward(dx, cur, add)
	f.Done()
}

// forwardFirst runs the first k modules (Forward, or Replay's rule for
// stored convs when replay) and returns the last output.
func (s *Seq) forwardFirst(k int, x ops.Tensor, replay bool) ops.Tensor {
	for _, m := range s.Mods[:k] {
		if c, ok := m.(*Conv); ok && c.Stored && replay {
			x = c.out
			continue
		}
		x = m.Forward(x)
	}
	return x
}

// pairBNReLU fuses, with Env.Fuse, each BatchNorm followed by a ReLU: the
// batch norm applies the ReLU (BatchNormAddReLUForwardTraining without z)
// and the ReLU passes its input through, reading nothing in Backward.
func (s *Seq) pairBNReLU() {
	for i, m := range s.Mods {
		if r, ok := m.(*ReLU); ok {
			r.fused = false
			if bn, ok := s.prev(i).(*BatchNorm); ok && s.env.Fuse {
				bn.fuseReLU, r.fused = true, true
			}
		}
		if bn, ok := m.(*BatchNorm); ok {
			bn.fuseReLU = false
			if _, ok := s.next(i).(*ReLU); ok && s.env.Fuse {
				bn.fuseReLU = true
			}
		}
	}
}

func (s *Seq) prev(i int) Module {
	if i == 0 {
		return nil
	}
	return s.Mods[i-1]
}

func (s *Seq) next(i int) Module {
	if i+1 >= len(s.Mods) {
		return nil
	}
	return s.Mods[i+1]
}

// KeepsOutput reports whether the last module reads its output in Backward.
func (s *Seq) KeepsOutput() bool {
	return len(s.Mods) > 0 && s.Mods[len(s.Mods)-1].KeepsOutput()
}

// Empty reports whether the sequence has no modules (the identity).
func (s *Seq) Empty() bool { return s == nil || len(s.Mods) == 0 }

// OutShape is the output shape of the last Setup.
func (s *Seq) OutShape() ops.Shape {
	if len(s.in) == 0 {
		panic("layers: OutShape before Setup")
	}
	return s.out
}
