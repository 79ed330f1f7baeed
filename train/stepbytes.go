package train

import (
	"maps"
	"math/rand/v2"

	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opbytes"
)

// StepBytes is what one training step's ops read and write (opbytes: each
// tensor argument once, by its role; views free; host transfers not
// counted): a lower bound of the step's DRAM traffic on a GPU.
type StepBytes struct {
	Total int64
	// ByOp is by ops.Backend method (op kind).
	ByOp map[string]int64
	// Recompute is the mode the network was built in (auto resolved).
	Recompute layers.Recompute
	// Kept is how many residual units the step ran (stochastic depth
	// draws which), of Units.
	Kept, Units int
	// Keep says, unit by unit, which the step ran.
	Keep []bool
	// PeakBytes is the most the network's tensors held at once over
	// building it and the step, each at its storage type's size
	// (opbytes.Shapes.PeakBytes). Counted over the CPU reference it is
	// that backend's PeakBytes: the same in float32, 4 bytes an element
	// in every type.
	PeakBytes int64
}

// CountStepBytes counts one step of Compute — the trainer's own step:
// forward, loss, backward, SGD update, the step's statistics — of mc's
// network at the given batch, built as Build builds it (recompute; for
// layers.RecomputeAuto the first mode within limit bytes, 0: no limit) on
// opbytes.Shapes, which has no storage and runs no math: the models choose
// their ops from shapes and flags alone, so the ops counted are those any
// backend receives, and resnet-1202 at batch 128 counts in well under a
// second. Stochastic depth keeps the units of one draw from seed (the first
// draw of a fresh rand.NewPCG(seed, 2)), not the expectation. fuse is
// models.Build's (--fuse).
func CountStepBytes(mc models.Config, batch int, recompute layers.Recompute, fuse bool, limit int64, seed uint64) (StepBytes, error) {
	return CountStepBytesAs(mc, batch, recompute, fuse, limit, seed, ops.Float32)
}

// CountStepBytesAs is CountStepBytes with activations stored as act
// (models.BuildAs): a half tensor counts 2 bytes per element.
func CountStepBytesAs(mc models.Config, batch int, recompute layers.Recompute, fuse bool, limit int64, seed uint64, act ops.DType) (StepBytes, error) {
	c := opbytes.New(&opbytes.Shapes{Limit: limit})
	return countStep(c, mc, batch, recompute, fuse, seed, act)
}

// countStep counts one step on c (tests run it over the CPU reference too).
func countStep(c *opbytes.Counter, mc models.Config, batch int, recompute layers.Recompute, fuse bool, seed uint64, act ops.DType) (StepBytes, error) {
	net, err := models.BuildAs(mc, c, batch, recompute, fuse, act)
	if err != nil {
		return StepBytes{}, err
	}
	defer net.Close()
	net.Init(1)
	net.SetTraining(true)
	x, err := c.Alloc(batch, 3, 32, 32)
	if err != nil {
		return StepBytes{}, err
	}
	defer c.Free(x)
	labels, err := c.Alloc(batch)
	if err != nil {
		return StepBytes{}, err
	}
	defer c.Free(labels)
	stats, err := c.Alloc(3)
	if err != nil {
		return StepBytes{}, err
	}
	defer c.Free(stats)
	c.CopyIn(labels, make([]float32, batch)) // class 0: any valid label
	kept := net.DrawDepth(rand.New(rand.NewPCG(seed, 2)))
	c.Reset() // building and initialising are not the step
	sgd := ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true}
	Compute(c, net, x, labels, sgd, func(j int) ops.Tensor { return c.View(stats, j, 1) })
	if err := c.Sync(); err != nil {
		return StepBytes{}, err
	}
	keep := make([]bool, len(net.Units))
	for i, u := range net.Units {
		keep[i] = u.Active
	}
	sb := StepBytes{Total: c.Total(), ByOp: maps.Clone(c.Bytes), Recompute: net.Env.Recompute, Kept: kept, Units: len(net.Units), Keep: keep}
	if p, ok := c.Inner.(interface{ PeakBytes() int64 }); ok {
		sb.PeakBytes = p.PeakBytes()
	}
	return sb, nil
}
