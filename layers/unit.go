package layers

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// Gating selects the gated shortcuts of He et al. 2016, Table 1.
type Gating int

const (
	NoGate        Gating = iota
	ExclusiveGate        // y = (1−g)·h(x) + g·F(x)
	ShortcutGate         // y = (1−g)·h(x) + F(x)
)

// Extra is an additional shortcut joined into a unit's sum: the RoR level
// shortcuts (Zhang et al.). Its source is another tensor of the network, read
// through Src at forward time; its input gradient is added into *DSrc.
type Extra struct {
	Conv *Conv
	Src  *ops.Tensor
	DSrc *ops.Tensor
}

// Unit is a residual unit in its general form
//
//	a   = Pre(x)                         (He's shared pre-activation, optional)
//	sum = λs·h(s) + λf·F(b) + Σ g(src)   (s, b = x or a; gated variants below)
//	out = Post(sum)                      (after-addition activation, optional)
//
// which covers the original unit, every Table 1 and Table 2 variant,
// bottleneck and wide units, stochastic depth and RoR.
type Unit struct {
	env          *Env
	Name         string
	Pre          *Seq
	ShortFromPre bool
	Branch       *Seq
	Short        Module
	ShortDrop    *Dropout
	LambdaShort  float32
	LambdaBranch float32
	Gate         Gating
	GateConv     *Conv // 1×1 conv with bias b_g on x
	Post         *Seq
	// PostSkippable says that Post is the identity on the shortcut alone (a
	// ReLU on a non-negative input), so a dropped unit may skip it.
	PostSkippable bool
	Extras        []Extra
	// Survival is the stochastic-depth survival probability p_l (1: never dropped).
	Survival float64
	// Active is this step's Bernoulli draw; only read while training.
	Active bool
	// Index is the unit's place in its network: its entry of Env.Mask.
	Index int

	inShape, outShape ops.Shape
	sum, q            ops.Tensor // own buffers, largest batch
	unitState                    // remembered by Forward for Backward
	// What each recorded form left for Backward while a step is captured
	// (forwardBranched): [0] dropped, [1] kept.
	forms [2]unitState
}

// unitState is what Forward leaves for Backward.
type unitState struct {
	x, a, f, h, qv       ops.Tensor
	seed                 uint64 // Env.DropoutSeed when Forward began
	ranPost, passThrough bool
	// fused: the sum and Post ran as the last batch norm's fused op
	// (fusedFinish); bnIn is that batch norm's input, dsum's source is dz.
	fused bool
	bnIn  ops.Tensor
}

// NewUnit returns a unit with the identity shortcut and unit scales; the
// builder fills in the rest before Setup.
func NewUnit(e *Env, name string) *Unit {
	return &Unit{env: e, Name: name, Short: NewIdentity(e), LambdaShort: 1, LambdaBranch: 1, Survival: 1, Active: true}
}

// Setup allocates the unit's buffers; every module inside is set up here.
// When recomputing (Env.Recompute), everything inside the unit gets buffers
// shared with the other units (see Env.alloc) but for what the mode keeps:
// the unit's output and the after-addition activation that produces it,
// and with RecomputeBN the convolutions' outputs (not the branch's last,
// which only forms the sum).
func (u *Unit) Setup(in ops.Shape) ops.Shape {
	e := u.env
	u.inShape = in.Clone()
	if e.Recompute == RecomputeBN {
		for _, s := range []*Seq{u.Pre, u.Branch} {
			if s != nil {
				s.storeConvs(s == u.Branch)
			}
		}
		if s, ok := u.Short.(*Seq); ok {
			s.storeConvs(false)
		}
	}
	e.shareActivations(e.Recompute != StoreAll)
	bin, sin := in, in
	if u.Pre != nil {
		a := u.Pre.Setup(in)
		bin = a
		if u.ShortFromPre {
			sin = a
		}
	}
	out := u.Branch.Setup(bin)
	if h := u.Short.Setup(sin); !h.Equal(out) {
		panic(fmt.Sprintf("layers: unit %s: branch gives %v but shortcut %v", u.Name, out, h))
	}
	if u.ShortDrop != nil {
		u.ShortDrop.Setup(out)
	}
	if u.Gate != NoGate {
		if u.Branch.KeepsOutput() {
			panic("layers: gating needs a branch whose output may be overwritten")
		}
		if g := u.GateConv.Setup(in); !g.Equal(out) {
			panic(fmt.Sprintf("layers: unit %s: gate gives %v, want %v", u.Name, g, out))
		}
		u.q = e.alloc(out)
	}
	for _, x := range u.Extras {
		x.Conv.Setup((*x.Src).Shape())
	}
	e.shareActivations(false)
	u.outShape = out.Clone()
	u.sum = nil
	if u.ownSum() {
		u.sum = e.alloc(out)
	}
	if !u.Post.Empty() {
		if p := u.Post.Setup(out); !p.Equal(out) {
			panic("layers: Post must keep the shape")
		}
	}
	e.Scratch.Reserve(in.Len())
	e.Scratch.Reserve(out.Len())
	return out
}

// ownSum reports whether the sum needs a buffer of its own rather than the
// branch output's: when the branch reads its output back, when exclusive
// gating keeps h − F there, when the branch's buffers are shared
// (recomputing), and when a dropped unit has something to add to its
// shortcut or an activation that is not the identity on it. (A unit
// dropped by hand without stochastic depth gets the buffer on first use.)
func (u *Unit) ownSum() bool {
	return u.sumApart() || u.Gate == ExclusiveGate || (u.Survival < 1 && !u.droppedPassesThrough())
}

// sumApart reports whether an active unit must form its sum outside the
// branch output's buffer: when the branch reads its output back, or when
// that buffer is shared with other units (recomputing).
func (u *Unit) sumApart() bool { return u.Branch.KeepsOutput() || u.env.Recompute != StoreAll }

// droppedPassesThrough reports whether a dropped unit's output is its
// shortcut's, unchanged.
func (u *Unit) droppedPassesThrough() bool {
	return len(u.Extras) == 0 && (u.Post.Empty() || u.PostSkippable)
}

func (u *Unit) dropped() bool { return u.env.Train && !u.Active }

// Forward computes the unit's output. A dropped unit (training, Active
// false) computes only its shortcut: no kernel of its branch runs.
func (u *Unit) Forward(x ops.Tensor) ops.Tensor {
	if u.Branched() {
		return u.forwardBranched(x)
	}
	n := u.begin(x)
	f, h := u.inside(x, false)
	if u.dropped() {
		return u.forwardDropped(h, n, nil, nil)
	}
	if u.fused {
		return u.fusedFinish(h, n)
	}
	return u.finish(u.combine(f, h, n))
}

// fusable reports whether, with Env.Fuse, an active training unit forms
// out = ReLU(BN(x_last) + h + Σ extras) in one op: an ungated unit with
// unit scales whose branch ends in a batch norm and whose Post is one
// ReLU (the original unit). Gated sums (Table 1) and scaled ones are not
// a plain addition; BN-after-addition (Table 2) has its BN after the sum.
func (u *Unit) fusable() bool {
	if !u.env.Fuse || u.Gate != NoGate || u.LambdaBranch != 1 || u.LambdaShort != 1 || u.Post.Empty() || len(u.Post.Mods) != 1 {
		return false
	}
	if _, ok := u.Post.Mods[0].(*ReLU); !ok {
		return false
	}
	_, ok := u.lastBN()
	return ok
}

// lastBN is the branch's last module as a batch norm.
func (u *Unit) lastBN() (*BatchNorm, bool) {
	if len(u.Branch.Mods) == 0 {
		return nil, false
	}
	bn, ok := u.Branch.Mods[len(u.Branch.Mods)-1].(*BatchNorm)
	return bn, ok
}

// fusedFinish forms the unit's output with the last batch norm's fused op:
// z is h, or h plus the RoR extras (which join the sum before the
// activation) in the sum buffer; the output goes where the unfused sum
// would, the unit's own sum buffer or else the batch norm's.
func (u *Unit) fusedFinish(h ops.Tensor, n int) ops.Tensor {
	e := u.env
	bn, _ := u.lastBN()
	out := bn.OutBuffer(n)
	if u.sum != nil {
		out = e.batchView(u.sum, n)
	}
	z := h
	if len(u.Extras) > 0 {
		e.B.AddTensor(out, h, 1, 0)
		for _, x := range u.Extras {
			e.B.AddTensor(out, x.Conv.Forward(*x.Src), 1, 1)
		}
		z = out
	}
	bn.ForwardAddReLU(out, u.bnIn, z)
	u.ranPost = false
	return out
}

// begin starts a forward pass on x and returns its batch size.
func (u *Unit) begin(x ops.Tensor) int {
	u.x = x
	u.seed = u.env.DropoutSeed
	u.passThrough = false
	u.fused = u.env.Train && !u.dropped() && u.fusable()
	u.bnIn = nil
	return x.Shape()[0]
}

// Branched reports whether the unit records both its forms, kept and
// dropped, for the device to choose from at each launch: while a training
// step is captured (Env.Branch), for a unit stochastic depth may drop.
func (u *Unit) Branched() bool {
	return u.env.Branch != nil && u.env.Train && u.Survival < 1
}

// forwardBranched records the kept form of the unit, then the dropped one,
// chosen on the device by Env.Mask[Index] at each launch. The dropped form
// writes its output where the kept one does, so that what comes after
// reads one tensor whatever the mask: a dropped unit that eagerly returns
// its input (or its shortcut's buffer) copies it there instead, and one
// with something to add forms its sum in the kept form's sum. The values,
// and so the bits, are eager mode's.
func (u *Unit) forwardBranched(x ops.Tensor) ops.Tensor {
	e := u.env
	active := u.Active
	var sum, out ops.Tensor
	e.Branch.CaptureIf(e.Mask, u.Index, func() {
		u.Active = true
		n := u.begin(x)
		f, h := u.inside(x, false)
		if u.fused {
			out = u.fusedFinish(h, n)
			sum = out // where a dropped form with a sum must form it
		} else {
			sum = u.combine(f, h, n)
			out = u.finish(sum)
		}
		u.forms[1] = u.unitState
	}, func() {
		u.Active = false
		n := u.begin(x)
		_, h := u.inside(x, false)
		u.forwardDropped(h, n, out, sum)
		u.forms[0] = u.unitState
	})
	u.Active = active
	u.unitState = u.forms[flagIndex(active)]
	return out
}

func flagIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BackwardBranched records the backward pass of both forms of a unit whose
// forward pass forwardBranched recorded, chosen by the same mask entry;
// zero, which the dropped form runs first, zeroes its parameters'
// gradients (as Network.Backward does for a unit dropped eagerly).
func (u *Unit) BackwardBranched(dx, dy ops.Tensor, add bool, zero func()) {
	e := u.env
	active := u.Active
	e.Branch.CaptureIf(e.Mask, u.Index, func() {
		u.Active = true
		u.unitState = u.forms[1]
		u.Backward(dx, dy, add)
	}, func() {
		u.Active = false
		u.unitState = u.forms[0]
		zero()
		u.Backward(dx, dy, add)
	})
	u.Active = active
	u.unitState = u.forms[flagIndex(active)]
}

// inside runs what comes before the sum — pre-activation, branch, shortcut,
// gate — and remembers what Backward reads. It returns the branch output
// (nil for a dropped unit) and the shortcut output. Backward reruns it when
// recomputing (replay), so it must depend on nothing but x, the weights and
// the dropout seed. A replay (Seq.Replay) reads stored conv outputs instead
// of rerunning the convs, and skips the branch's last module when Backward
// will not read the branch output (no exclusive gate) and that module's
// backward pass reads only its input, which the replay recomputes: with
// RecomputeUnit a pre-activation unit then reruns one of its two
// convolutions, an original unit both but not its last BN. It returns f nil
// then.
func (u *Unit) inside(x ops.Tensor, replay bool) (f, h ops.Tensor) {
	run := func(s *Seq, x ops.Tensor) ops.Tensor {
		if replay {
			return s.Replay(x, false)
		}
		return s.Forward(x)
	}
	bx, sx := x, x
	if u.Pre != nil && (u.ShortFromPre || !u.dropped()) {
		// A dropped unit's shared pre-activation normalises with the batch
		// statistics without moving the running ones (docs/design.md).
		frozen := u.env.FreezeStats
		u.env.FreezeStats = frozen || u.dropped()
		u.a = run(u.Pre, x)
		u.env.FreezeStats = frozen
		bx = u.a
		if u.ShortFromPre {
			sx = u.a
		}
	}
	short := func() ops.Tensor {
		if s, ok := u.Short.(*Seq); ok {
			return run(s, sx)
		}
		return u.Short.Forward(sx)
	}
	if u.dropped() {
		u.h = short()
		return nil, u.h
	}
	if u.fused {
		// The last batch norm runs fused with the sum (fusedFinish).
		u.bnIn = u.Branch.forwardFirst(len(u.Branch.Mods)-1, bx, replay)
	} else if replay && u.Gate != ExclusiveGate && u.Branch.LastReadsOnlyInput() {
		u.Branch.Replay(bx, true)
	} else {
		f = run(u.Branch, bx)
	}
	h = short()
	if u.ShortDrop != nil {
		h = u.ShortDrop.Forward(h)
	}
	if u.Gate != NoGate {
		u.gateComplement(x, x.Shape()[0])
	}
	u.f, u.h = f, h
	return f, h
}

// combine forms the sum of an active unit from its branch output f and
// shortcut output h.
func (u *Unit) combine(f, h ops.Tensor, n int) ops.Tensor {
	e, b := u.env, u.env.B
	scaleF := u.LambdaBranch
	if !e.Train {
		scaleF *= float32(u.Survival) // stochastic depth's test-time rule
	}
	var sum ops.Tensor
	switch u.Gate {
	case NoGate:
		if u.sumApart() {
			sum = e.batchView(u.sum, n)
			b.AddTensor(sum, f, scaleF, 0)
			b.AddTensor(sum, h, u.LambdaShort, 1)
		} else {
			sum = f
			b.AddTensor(sum, h, u.LambdaShort, scaleF)
		}
	case ExclusiveGate:
		// sum = F + q·(h − F), with q = 1 − g; f's buffer keeps h − F for backward.
		sum = e.batchView(u.sum, n)
		b.AddTensor(sum, f, 1, 0)
		b.AddTensor(f, h, 1, -1)
		b.Mul(sum, u.qv, f, 1)
	case ShortcutGate:
		sum = f // sum = F + q·h
		if u.sumApart() {
			sum = e.batchView(u.sum, n)
			b.AddTensor(sum, f, 1, 0)
		}
		b.Mul(sum, u.qv, h, 1)
	}
	return sum
}

// recompute reruns the inside of the last forward pass, so that the shared
// buffers hold this unit's values again: the same input and dropout seeds,
// BN running statistics left alone. On a deterministic backend the values
// are bitwise those of the forward pass.
func (u *Unit) recompute() {
	e := u.env
	seed, frozen := e.DropoutSeed, e.FreezeStats
	e.DropoutSeed, e.FreezeStats = u.seed, true
	f, h := u.inside(u.x, true)
	if f != nil && u.Gate == ExclusiveGate {
		e.B.AddTensor(f, h, 1, -1) // as combine left it
	}
	e.DropoutSeed, e.FreezeStats = seed, frozen
}

// finish adds the RoR extras into the sum and applies the after-addition
// activation, if any.
func (u *Unit) finish(sum ops.Tensor) ops.Tensor {
	for _, x := range u.Extras {
		g := x.Conv.Forward(*x.Src)
		u.env.B.AddTensor(sum, g, 1, 1)
	}
	u.ranPost = !u.Post.Empty()
	if u.ranPost {
		return u.Post.Forward(sum)
	}
	return sum
}

// gateComplement computes q = 1 − sigmoid(conv(x) + b_g) = sigmoid(−z).
func (u *Unit) gateComplement(x ops.Tensor, n int) {
	b := u.env.B
	z := u.GateConv.Forward(x)
	q := u.env.batchView(u.q, n)
	b.AddTensor(q, z, -1, 0)
	b.SigmoidForward(q, q)
	u.qv = q
}

// forwardDropped returns a dropped unit's output from its shortcut's. A
// shared (recomputed) shortcut buffer is never the output: the next units
// would overwrite it. Eagerly (out nil) an output that is the shortcut's
// is returned as it is, and a sum is formed in the unit's own buffer. A
// recorded dropped form (forwardBranched) must end where the kept form
// ends: such an output is copied to out, and the sum is formed in the
// kept form's sum, whose finish returns out again.
func (u *Unit) forwardDropped(h ops.Tensor, n int, out, sum ops.Tensor) ops.Tensor {
	if u.droppedPassesThrough() && (h == u.x || u.env.Recompute == StoreAll) {
		u.ranPost = false
		if out == nil {
			u.passThrough = h == u.x
			return h
		}
		u.env.B.AddTensor(out, h, 1, 0)
		return out
	}
	if sum == nil {
		if u.sum == nil {
			u.sum = u.env.alloc(u.outShape)
		}
		sum = u.env.batchView(u.sum, n)
	}
	u.env.B.AddTensor(sum, h, 1, 0)
	return u.finish(sum)
}

// PassThrough reports whether the last Forward returned its input unchanged
// (a dropped unit with an identity shortcut): the gradient then passes
// through too, and the caller need not call Backward.
func (u *Unit) PassThrough() bool { return u.passThrough }

// Backward writes or adds dx from dy, the parameter gradients of everything
// that ran, and adds the extras' source gradients into their DSrc. The
// gradients of a dropped unit's branch are left alone: the network zeroes
// them, so that weight decay and momentum still move those weights.
func (u *Unit) Backward(dx, dy ops.Tensor, add bool) {
	e, b := u.env, u.env.B
	n := dy.Shape()[0]
	out := withBatch(u.outShape, n)
	if e.Recompute != StoreAll {
		u.recompute()
	}
	fr := e.Scratch.Frame(unitFrame)
	defer fr.Done()

	dsum := dy
	var dBNIn ops.Tensor // fused: the gradient of the last batch norm's input
	switch {
	case u.fused:
		bn, _ := u.lastBN()
		dsum, dBNIn = fr.T(0, out), fr.T(1, out)
		bn.BackwardAddReLU(dBNIn, dsum, dy)
	case u.ranPost:
		dsum = fr.T(0, out)
		u.Post.Backward(dsum, dy, false)
	}
	for _, x := range u.Extras {
		x.Conv.Backward(*x.DSrc, dsum, true)
	}

	dF, dH := dsum, dsum
	if u.dropped() {
		dF = nil
	} else {
		switch u.Gate {
		case NoGate:
			if u.LambdaBranch != 1 {
				dF = fr.T(1, out)
				b.AddTensor(dF, dsum, u.LambdaBranch, 0)
			}
			if u.LambdaShort != 1 {
				dH = fr.T(2, out)
				b.AddTensor(dH, dsum, u.LambdaShort, 0)
			}
		case ExclusiveGate:
			// q = 1−g; f holds h − F: dq = dsum·(h − F), dF = dsum − q·dsum, dH = q·dsum.
			u.gateBackward(dx, dsum, u.f, fr, out, add)
			add = true
			dH = fr.T(1, out)
			b.Mul(dH, u.qv, dsum, 0)
			dF = fr.T(2, out)
			b.AddTensor(dF, dsum, 1, 0)
			b.AddTensor(dF, dH, -1, 1)
		case ShortcutGate:
			// sum = F + q·h: dq = dsum·h, dH = q·dsum.
			u.gateBackward(dx, dsum, u.h, fr, out, add)
			add = true
			dH = fr.T(1, out)
			b.Mul(dH, u.qv, dsum, 0)
		}
	}
	if u.ShortDrop != nil && !u.dropped() {
		t := fr.T(2, out)
		if dH == t { // only when both scale and gate used it; never in practice
			panic("layers: shortcut dropout with scaled shortcut is not supported")
		}
		u.ShortDrop.Backward(t, dH, false)
		dH = t
	}

	branchBackward := func(dx, dF ops.Tensor, add bool) {
		if u.fused {
			u.Branch.backwardFirst(len(u.Branch.Mods)-1, dx, dBNIn, add)
			return
		}
		u.Branch.Backward(dx, dF, add)
	}
	if u.Pre == nil {
		if dF != nil {
			branchBackward(dx, dF, add)
			add = true
		}
		u.Short.Backward(dx, dH, add)
		return
	}
	da := fr.T(3, withBatch(u.Pre.OutShape(), n))
	wrote := false
	if dF != nil {
		branchBackward(da, dF, false)
		wrote = true
	}
	if u.ShortFromPre {
		u.Short.Backward(da, dH, wrote)
		wrote = true
	} else {
		u.Short.Backward(dx, dH, add)
		add = true
	}
	if wrote {
		u.Pre.Backward(dx, da, add)
	}
}

// gateBackward adds the gradient through q = sigmoid(−z), z = conv(x)+b_g,
// into dx (first write uses add), given dq = dsum·other.
func (u *Unit) gateBackward(dx, dsum, other ops.Tensor, fr Frame, out ops.Shape, add bool) {
	b := u.env.B
	dq := fr.T(1, out)
	b.Mul(dq, dsum, other, 0)
	dz := fr.T(2, out)
	b.SigmoidBackward(dz, dq, u.qv, false)
	b.AddTensor(dz, dz, -1, 0)
	u.GateConv.Backward(dx, dz, add)
}

// KeepsOutput: the next unit may not overwrite a unit's output in place.
func (u *Unit) KeepsOutput() bool { return true }

// OutShape is the output shape for the largest batch.
func (u *Unit) OutShape() ops.Shape { return u.outShape }
