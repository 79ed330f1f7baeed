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
	allocErr    error
	owned       []ops.Tensor // everything Alloc made, freed by Free
}

// NewEnv returns an Env on b with the pinned batch-norm constants.
func NewEnv(b ops.Backend) *Env {
	e := &Env{B: b, BN: ops.DefaultBatchNorm}
	e.Scratch = &Scratch{env: e}
	return e
}

// Alloc allocates a tensor the network owns: Free releases it. The first
// failure is kept and returned by Err (later calls return nil), so builders
// can allocate a whole network and check once.
func (e *Env) Alloc(shape ...int) ops.Tensor {
	if e.allocErr != nil {
		return nil
	}
	t, err := e.B.Alloc(shape...)
	if err != nil {
		e.allocErr = fmt.Errorf("allocate %v: %w", ops.Shape(shape), err)
		return nil
	}
	e.owned = append(e.owned, t)
	return t
}

func (e *Env) alloc(shape ops.Shape) ops.Tensor { return e.Alloc(shape...) }

// Err returns the first allocation failure since the Env was made.
func (e *Env) Err() error { return e.allocErr }

// Free releases every tensor Alloc made, newest first. It is idempotent;
// the network's modules must not be used afterwards.
func (e *Env) Free() {
	for i := len(e.owned) - 1; i >= 0; i-- {
		e.B.Free(e.owned[i])
	}
	e.owned = nil
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
