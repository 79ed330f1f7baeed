package train

import (
	"fmt"

	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
)

// GraphMode says how a training step reaches the device (--cuda-graphs):
// GraphsAuto captures the step once warmed up and launches it with one call
// (ops.Capturer, CUDA graphs on the GPU), falling back to eager launching,
// with one note saying why, where it cannot; GraphsOn is the same but a
// reason not to capture is an error; GraphsOff launches every op.
type GraphMode string

const (
	GraphsAuto GraphMode = "auto"
	GraphsOn   GraphMode = "on"
	GraphsOff  GraphMode = "off"
)

// ParseGraphMode reads --cuda-graphs; empty is auto.
func ParseGraphMode(s string) (GraphMode, error) {
	switch m := GraphMode(s); m {
	case "":
		return GraphsAuto, nil
	case GraphsAuto, GraphsOn, GraphsOff:
		return m, nil
	}
	return "", fmt.Errorf("%q: want auto, on or off", s)
}

// graphStep is the captured form of a training step. Launches differ only
// in what the graph reads from device memory: the inputs (CopyIn before the
// launch), the learning rate (lr, one float written before the launch) and
// the dropout seeds' base (seed, layers.Env.DropoutBase) and nothing else,
// so the rest (momentum, weight decay, the batch size) is fixed per capture
// and a change captures again.
type graphStep struct {
	off    bool // eager from now on (off, or auto gave up: note already given)
	warm   bool // an eager step ran: cuDNN's algorithm search, first-use allocations
	said   bool // the first capture was announced
	g      ops.Graph
	sgd    ops.SGDParams // what g was captured with (LR aside)
	lr     ops.Tensor    // (1): the step's learning rate
	slot   ops.Tensor    // (3): the step's statistics, copied to the ring after the launch
	lrHost [statsRing][1]float32
	// Dropout: the seed base (2: ops.SeedWords), its host ring, and how far
	// one step advances layers.Env.DropoutSeed (a launch runs no Forward
	// on the host, so the trainer advances it).
	seed      ops.Tensor
	seedHost  [statsRing][2]float32
	seedDelta uint64
	// Stochastic depth: the step's unit mask (one float per unit, 1 kept),
	// read by the graph's conditional nodes (layers.Unit.forwardBranched),
	// and its host ring.
	mask     ops.Tensor
	maskHost [statsRing][]float32
}

// NotCaptured says why steps of model m are never captured ("" when they
// can be, on a backend that can: CaptureBlocker): with both stochastic
// depth and dropout, which dropout seeds a step draws depends on the units
// its mask keeps, and a captured step's seeds are fixed per op.
func NotCaptured(m models.Config) string {
	if m.SD != models.SDOff && m.Dropout > 0 {
		return "stochastic depth with dropout is not captured (the dropout seeds a step draws depend on its unit mask)"
	}
	return ""
}

// CaptureBlocker says why backend b cannot capture steps of model m (""
// when it can), and whether b can capture at all: where it cannot (the CPU
// reference), eager is simply what runs and there is nothing to say.
// Stochastic depth needs branches decided on the device (ops.Brancher:
// CUDA conditional nodes).
func CaptureBlocker(b ops.Backend, m models.Config) (why string, can bool) {
	if _, can = b.(ops.Capturer); !can {
		return fmt.Sprintf("the %s backend cannot capture", b.Name()), false
	}
	if why := NotCaptured(m); why != "" {
		return why, true
	}
	if m.SD != models.SDOff {
		br, ok := b.(ops.Brancher)
		if !ok {
			return fmt.Sprintf("stochastic depth needs branches in the graph, which the %s backend cannot record", b.Name()), true
		}
		if err := br.CanBranch(); err != nil {
			return "stochastic depth needs conditional graph nodes: " + err.Error(), true
		}
	}
	return "", true
}

// setupGraphs decides whether steps are captured, and allocates what a
// captured step reads: not on a backend that cannot capture (cpuref), nor
// what NotCaptured names.
func (t *Trainer) setupGraphs(mode GraphMode, m models.Config) error {
	mode, _ = ParseGraphMode(string(mode)) // Validate checked it
	t.Cfg.Graphs = mode
	if mode == GraphsOff {
		t.gs.off = true
		return nil
	}
	why, can := CaptureBlocker(t.b, m)
	if why != "" {
		t.gs.off = true
		if mode == GraphsOn {
			return fmt.Errorf("--cuda-graphs on: %s", why)
		}
		if can { // on the CPU, eager is simply what runs: nothing to say
			t.graphNote = "CUDA graphs off: " + why
		}
		return nil
	}
	var err error
	if t.gs.lr, err = t.b.Alloc(1); err == nil {
		t.gs.slot, err = t.b.Alloc(3)
	}
	if err == nil && m.Dropout > 0 {
		if t.gs.seed, err = t.b.Alloc(2); err == nil {
			t.Net.Env.DropoutBase = t.gs.seed
		}
	}
	if err == nil && m.SD != models.SDOff {
		if t.gs.mask, err = t.b.Alloc(len(t.Net.Units)); err == nil {
			t.Net.Env.Mask = t.gs.mask
			for i := range t.gs.maskHost {
				t.gs.maskHost[i] = make([]float32, len(t.Net.Units))
			}
		}
	}
	if err != nil {
		return fmt.Errorf("allocate the captured step's inputs: %w", err)
	}
	return nil
}

// launchStep runs one step through the graph, capturing it first when
// needed. It reports false when the step must run eagerly instead (nothing
// of it ran then).
func (t *Trainer) launchStep(x, labels ops.Tensor, n int, lr float64, sgd ops.SGDParams) (bool, error) {
	gs := &t.gs
	if gs.off || n != t.Cfg.BatchSize {
		return false, nil // a short last batch: its shapes are not the graph's
	}
	if !gs.warm {
		gs.warm = true
		return false, nil
	}
	b := t.b
	key := sgd
	key.LR = 0 // read from gs.lr at each launch
	if gs.g != nil && gs.sgd != key {
		gs.g.Close() // momentum or weight decay changed (--override): capture again
		gs.g = nil
	}
	captured := gs.g == nil
	if captured {
		c := b.(ops.Capturer)
		p := sgd
		p.LR, p.LRTensor = 0, gs.lr
		env := t.Net.Env
		if gs.mask != nil {
			t.Net.Rehearse(x, labels) // every unit's searches made (models.Network.Rehearse)
		}
		seed0 := env.DropoutSeed
		err := c.BeginCapture()
		if err == nil {
			if gs.mask != nil {
				env.Branch = b.(ops.Brancher)
			}
			t.compute(x, labels, p, func(j int) ops.Tensor { return b.View(gs.slot, j, 1) })
			env.Branch = nil
			gs.g, err = c.EndCapture()
		}
		// The capture's Forward advanced the seed as this step's must.
		gs.seedDelta = env.DropoutSeed - seed0
		if err != nil {
			env.DropoutSeed = seed0 // nothing ran: the eager step draws these seeds
			if t.Cfg.Graphs == GraphsOn {
				return false, fmt.Errorf("--cuda-graphs on: %w", err)
			}
			gs.off = true
			t.logf("CUDA graphs off, launching every op: %v", err)
			return false, nil
		}
		if !gs.said {
			gs.said = true
			t.logf("CUDA graphs: one launch per step from step %d on", t.pos.Step+1)
		}
		gs.sgd = key
	}
	// lrHost[pending] stays unchanged until flush downloads (CopyIn's rule).
	gs.lrHost[t.pending][0] = float32(lr)
	b.CopyIn(gs.lr, gs.lrHost[t.pending][:])
	if gs.mask != nil {
		t.Net.MaskInto(gs.maskHost[t.pending])
		b.CopyIn(gs.mask, gs.maskHost[t.pending])
	}
	gs.g.Launch()
	if !captured {
		t.Net.Env.DropoutSeed += gs.seedDelta
	}
	t.launches++
	b.Copy(b.View(t.stats, t.pending*3, 3), gs.slot)
	return true, nil
}

// closeGraphs releases the graph and its inputs.
func (t *Trainer) closeGraphs() error {
	var err error
	if t.gs.g != nil {
		err = t.gs.g.Close()
		t.gs.g = nil
	}
	for _, x := range []ops.Tensor{t.gs.lr, t.gs.slot, t.gs.seed, t.gs.mask} {
		t.b.Free(x)
	}
	t.gs.lr, t.gs.slot, t.gs.seed, t.gs.mask = nil, nil, nil, nil
	if t.Net != nil {
		t.Net.Env.DropoutBase, t.Net.Env.Mask = nil, nil
	}
	return err
}

// GraphLaunches is how many steps of this Trainer ran as one graph launch.
func (t *Trainer) GraphLaunches() int { return t.launches }

// uploadSeedBase writes the step's dropout seed base before its work, in
// eager and captured steps alike (the masks read it whenever
// layers.Env.DropoutBase is set).
func (t *Trainer) uploadSeedBase() {
	env := t.Net.Env
	if env.DropoutBase == nil {
		return
	}
	env.DropoutStepBase = env.DropoutSeed
	// seedHost[pending] stays unchanged until flush downloads (CopyIn's rule).
	t.gs.seedHost[t.pending] = ops.SeedWords(env.DropoutSeed)
	t.b.CopyIn(env.DropoutBase, t.gs.seedHost[t.pending][:])
}
