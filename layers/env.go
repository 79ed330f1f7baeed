package layers

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// Env is what every module of one network shares: the backend, the scratch
// space for gradients, the batch-norm constants and whether the network is
// training. A network owns exactly one Env.
type Env struct {
	B       ops.Backend
	BN      ops.BatchNormParams
	Scratch *Scratch
	// Train selects batch statistics, running-stat updates, dropout and
	// stochastic depth; false is evaluation (running statistics, no dropout,
	// branches scaled by their survival probability).
	Train bool
	// DropoutSeed is the seed of the next dropout mask; each mask drawn
	// advances it, so masks differ across layers and steps but are a pure
	// function of the run's seed.
	DropoutSeed uint64
	// DropoutBase, when set, is a device tensor holding a seed base
	// (ops.SeedWords(DropoutStepBase), written by the caller before each
	// step): masks are then drawn with DropoutMaskFrom, the part of the seed
	// past DropoutStepBase as the op's argument and the base read from
	// device memory, the same seeds either way. A captured training step
	// (train/graphstep.go) draws each launch's masks so.
	DropoutBase     ops.Tensor
	DropoutStepBase uint64
	// Branch, while a training step is being captured (train/graphstep.go),
	// makes every unit that stochastic depth may drop record both of its
	// forms, decided on the device by Mask[unit's Index] at each launch
	// (Unit.forwardBranched); nil otherwise. Mask is one float per unit.
	Branch ops.Brancher
	Mask   ops.Tensor
	// Recompute is what units keep for their backward pass (see Recompute
	// and Unit). Set it before Setup.
	Recompute Recompute
	// Fuse runs batch norm with the ReLU after it, and an original unit's
	// last batch norm with its shortcut addition and ReLU, as one op
	// (ops' BatchNormAddReLUForwardTraining and BatchNormAddReLUBackward)
	// while training: a BatchNorm followed by a ReLU in a Seq, and a Unit
	// whose structure allows it (Unit.fusable). Set it before Setup.
	Fuse bool
	// FreezeStats stops every BatchNorm from moving its running statistics
	// (they still normalise with the batch's); units set it while they
	// recompute a forward pass and while a dropped unit runs its shared
	// pre-activation.
	FreezeStats bool
	// Act is the storage type of activations and their gradients (issue
	// 22; set it before Setup): conv outputs, BN and ReLU outputs, sums,
	// pooled features and the gradients flowing back through them, as
	// PyTorch autocast gives conv2d (its "CUDA ops that can autocast to
	// float16" list, torch.amp docs "Autocast Op Reference") a half output
	// and lets batch_norm and relu (on neither list) run in their input's
	// type. Everything else a network allocates stays float32: parameters
	// and their gradients (the "FP32 master copy of weights" of NVIDIA's
	// Training with Mixed Precision guide and Micikevicius et al., ICLR
	// 2018), momentum, batch-norm statistics (cuDNN keeps them float32
	// for half inputs), the final linear layer's output (the logits) and
	// the loss and its gradient (cross_entropy, log_softmax and nll_loss
	// are on autocast's "autocast to float32" list). The casts happen
	// where an op reads a tensor of one type and writes another: a conv
	// reads float32 weights and half activations and writes half (cpuref
	// rounds on store); the linear layer reads half features and writes
	// float32 logits; its backward writes the half feature gradient.
	// Weights are read as float32 by every op here: a GPU would cast them
	// to a half copy per step as autocast does (not built yet).
	Act ops.DType
	// Layout is the storage layout of 4-D activations and their gradients
	// (issue 22; set it before Setup): ops.NHWC stores them channels-last,
	// as PyTorch's channels_last memory format does, where NVIDIA's NHWC
	// kernels want them. Shapes stay NCHW either way (ops.Layout);
	// parameters, the features after pooling and everything not 4-D are
	// plain. The network's results do not depend on it.
	Layout   ops.Layout
	allocErr error
	owned    []ops.Tensor // everything Alloc made, freed by Free
	// While a recomputing unit sets up (sharing), alloc hands out buffers
	// of shared, the next one numbered sharedNext (see alloc).
	sharing    bool
	sharedNext int
	shared     map[sharedKey]ops.Tensor
}

// NewEnv returns an Env on b with the pinned batch-norm constants and
// separate batch-norm, addition and ReLU ops (Fuse false), deepres's default:
// see train.Config.Fuse for why fusing is opt-in.
func NewEnv(b ops.Backend) *Env {
	e := &Env{B: b, BN: ops.DefaultBatchNorm}
	e.Scratch = &Scratch{env: e}
	return e
}

// Alloc allocates a tensor the network owns: Free releases it. The first
// failure is kept and returned by Err (later calls return nil), so builders
// can allocate a whole network and check once.
func (e *Env) Alloc(shape ...int) ops.Tensor { return e.AllocAs(ops.Float32, shape...) }

// AllocAs is Alloc with storage type d (ops.AllocAs).
func (e *Env) AllocAs(d ops.DType, shape ...int) ops.Tensor {
	return e.AllocLayout(d, ops.NCHW, shape...)
}

// AllocAct allocates an activation-sized tensor the network owns: of type
// Act, and in Layout when the shape is 4-D.
func (e *Env) AllocAct(shape ...int) ops.Tensor {
	return e.AllocLayout(e.Act, e.actLayout(shape), shape...)
}

// actLayout is Layout for a 4-D shape, NCHW for any other.
func (e *Env) actLayout(shape ops.Shape) ops.Layout {
	if len(shape) == 4 {
		return e.Layout
	}
	return ops.NCHW
}

// ActView views the first elements of t, a flat buffer sized for the
// largest activation, as an activation of the given shape: in Layout when
// the shape is 4-D. A tensor that is already an activation of that
// layout is viewed along its batch (ops.Backend's View).
func (e *Env) ActView(t ops.Tensor, shape ...int) ops.Tensor {
	l := e.actLayout(shape)
	if ops.LayoutOf(t) == l {
		return e.B.View(t, 0, shape...)
	}
	if len(t.Shape()) == 4 {
		panic(fmt.Sprintf("layers: ActView of a %v tensor of shape %v as %v: its elements are not laid out as that", ops.LayoutOf(t), t.Shape(), l))
	}
	return ops.ViewLayout(e.B, t, l, 0, shape...)
}

// AllocLayout is Alloc with storage type d and layout l (ops.AllocLayout).
func (e *Env) AllocLayout(d ops.DType, l ops.Layout, shape ...int) ops.Tensor {
	if e.allocErr != nil {
		return nil
	}
	t, err := ops.AllocLayout(e.B, d, l, shape...)
	if err != nil {
		what := fmt.Sprint(ops.Shape(shape))
		if l != ops.NCHW {
			what = l.String() + " " + what
		}
		if d != ops.Float32 {
			what = d.String() + " " + what
		}
		e.allocErr = fmt.Errorf("allocate %s: %w", what, err)
		return nil
	}
	e.owned = append(e.owned, t)
	return t
}

// alloc allocates a module's activation buffer (AllocAct): its own tensor, or one
// shared with the other units while a recomputing unit sets up its inside
// (a stored conv output is its own: Conv.Stored).
//
// A recomputing unit's k-th buffer is the same tensor as the k-th of every
// other recomputing unit when their shapes agree. That is safe because such
// a unit uses these buffers only between the start of its forward pass and
// its end, and again between the start of its backward pass (which
// recomputes them) and its end; units never run interleaved. A stage of
// identical units so shares one set.
func (e *Env) alloc(shape ops.Shape) ops.Tensor {
	if !e.sharing {
		return e.AllocAct(shape...)
	}
	key := sharedKey{e.sharedNext, fmt.Sprint(shape)}
	e.sharedNext++
	t, ok := e.shared[key]
	if !ok {
		t = e.AllocAct(shape...)
		e.shared[key] = t
	}
	return t
}

type sharedKey struct {
	k     int
	shape string
}

// shareActivations starts (on) or ends (off) a recomputing unit's setup:
// in between, alloc hands out shared buffers, counted from the first.
func (e *Env) shareActivations(on bool) {
	e.sharing, e.sharedNext = on, 0
	if on && e.shared == nil {
		e.shared = map[sharedKey]ops.Tensor{}
	}
}

// Err returns the first allocation failure since the Env was made.
func (e *Env) Err() error { return e.allocErr }

// Free releases every tensor Alloc made, newest first. It is idempotent;
// the network's modules must not be used afterwards.
func (e *Env) Free() {
	for i := len(e.owned) - 1; i >= 0; i-- {
		e.B.Free(e.owned[i])
	}
	e.owned = nil
	e.shared = nil
}

// batchView returns the first n samples of t, a tensor allocated for the
// largest batch, so one set of buffers serves every batch size up to it.
func (e *Env) batchView(t ops.Tensor, n int) ops.Tensor {
	s := t.Shape()
	if s[0] == n {
		return t
	}
	if n > s[0] {
		panic(fmt.Sprintf("layers: batch of %d exceeds the %d the network was built for", n, s[0]))
	}
	shape := s.Clone()
	shape[0] = n
	return e.B.View(t, 0, shape...)
}

// nextDropoutSeed hands out one seed per dropout mask.
func (e *Env) nextDropoutSeed() uint64 {
	e.DropoutSeed += 0x9E3779B97F4A7C15
	return e.DropoutSeed
}
