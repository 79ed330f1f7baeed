package models

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/ops"
)

// Network is a built model: its modules, parameters and the buffers of one
// training step, preallocated for a largest batch size.
type Network struct {
	Cfg    Config
	Env    *layers.Env
	Params *layers.ParamSet
	// LossScale is float16 loss scaling's device state (nil unless the
	// activations are float16; lossscale.go).
	LossScale *LossScale
	Stem      *layers.Seq
	Units     []*layers.Unit
	// StageStart[s] is the index in Units of stage s's first unit.
	StageStart [3]int
	Final      *layers.Seq
	Pool       *layers.GlobalAvgPool
	FC         *layers.Linear
	// Survival[l] is unit l's survival probability (all 1 without SD).
	Survival []float64

	maxBatch  int
	stageIn   [3]ops.Tensor // RoR sources: the input of each stage
	stageGrad [3]ops.Tensor // their gradient accumulators (RoR only), viewed for the step's batch
	// stageGradAll is stageGrad's storage, for the largest batch.
	stageGradAll [3]ops.Tensor
	rorUsed      [3]bool

	// per-step buffers, largest batch
	logits, losses, correct, dlogits ops.Tensor
	chain                            [2]ops.Tensor
	poolGrad, featGrad               ops.Tensor
	batch                            int
	unitRanges                       [][]offsetRange
	momentum                         ops.Tensor
	decayed                          int // leading flat elements with weight decay
}

type offsetRange struct{ off, n int }

// New builds cfg's modules and registers their parameters; it allocates
// nothing, so parameter counts and names are available without a backend
// (pass a nil backend then). Setup allocates.
func New(cfg Config, b ops.Backend) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env := layers.NewEnv(b)
	bd := &builder{cfg: cfg, env: env, ps: &layers.ParamSet{}}
	net := &Network{Cfg: cfg, Env: env, Params: bd.ps}
	net.Stem = bd.stem()
	n := cfg.UnitsPerStage()
	widths := cfg.StageWidths()
	in := 16
	for s := 0; s < 3; s++ {
		net.StageStart[s] = len(net.Units)
		for i := 0; i < n; i++ {
			stride := 1
			if s > 0 && i == 0 {
				stride = 2
			}
			u := bd.unit(fmt.Sprintf("layer%d.%d", s+1, i), in, widths[s], stride, i == 0)
			net.Units = append(net.Units, u)
			in = widths[s]
		}
	}
	net.addRoR(bd, widths)
	net.Final = bd.final(in)
	net.Pool = layers.NewGlobalAvgPool(env)
	net.FC = layers.NewLinear(env, bd.ps, "fc", in, cfg.Classes)
	net.Survival = cfg.Survival(len(net.Units))
	for i, u := range net.Units {
		u.Survival = net.Survival[i]
		u.Index = i
	}
	return net, nil
}

// addRoR adds Zhang et al.'s level shortcuts: for m = 3, a 1×1 conv from
// each stage's input into its last unit's sum (ror.2.s, strides 1, 2, 2)
// and from the first stage's input into the last unit (ror.1.0, stride 4);
// for m = 2 only the root. Their gradients collect in stageGrad.
func (net *Network) addRoR(bd *builder, widths [3]int) {
	if net.Cfg.RoR < 2 {
		return
	}
	stageInCh := [3]int{16, widths[0], widths[1]}
	last := func(s int) *layers.Unit {
		if s == 2 {
			return net.Units[len(net.Units)-1]
		}
		return net.Units[net.StageStart[s+1]-1]
	}
	if net.Cfg.RoR == 3 {
		for s := 0; s < 3; s++ {
			stride := 2
			if s == 0 {
				stride = 1
			}
			c := bd.conv(fmt.Sprintf("ror.2.%d.conv", s), stageInCh[s], widths[s], 1, stride)
			last(s).Extras = append(last(s).Extras, layers.Extra{Conv: c, Src: &net.stageIn[s], DSrc: &net.stageGrad[s]})
			net.rorUsed[s] = true
		}
	}
	root := bd.conv("ror.1.0.conv", 16, widths[2], 1, 4)
	last(2).Extras = append(last(2).Extras, layers.Extra{Conv: root, Src: &net.stageIn[0], DSrc: &net.stageGrad[0]})
	net.rorUsed[0] = true
}

// Build makes cfg's network on b and sets it up for training batches of up
// to maxBatch CIFAR-sized images, optimiser included, keeping what recompute
// says for the backward pass — or, for layers.RecomputeAuto, the first of
// off, bn and unit that fits in b's memory (Env.Recompute says which),
// with fuse setting Env.Fuse (fused batch norm, addition and ReLU). The
// weights are zero: call Init or load some.
func Build(cfg Config, b ops.Backend, maxBatch int, recompute layers.Recompute, fuse bool) (*Network, error) {
	return BuildAs(cfg, b, maxBatch, recompute, fuse, ops.Float32)
}

// BuildAs is Build with activations (and their gradients) stored as act
// (layers.Env.Act); a backend that cannot store act fails the build with
// an error wrapping ops.ErrUnsupportedPrecision.
func BuildAs(cfg Config, b ops.Backend, maxBatch int, recompute layers.Recompute, fuse bool, act ops.DType) (*Network, error) {
	modes := []layers.Recompute{recompute}
	if recompute == layers.RecomputeAuto {
		modes = []layers.Recompute{layers.StoreAll, layers.RecomputeBN, layers.RecomputeUnit}
	}
	var err error
	for _, mode := range modes {
		var net *Network
		if net, err = New(cfg, b); err != nil {
			return nil, err
		}
		net.Env.Recompute = mode
		net.Env.Fuse = fuse
		net.Env.Act = act
		if err = net.Setup(maxBatch); err == nil {
			if err = net.SetupOptimizer(); err == nil {
				return net, nil
			}
		}
		net.Close()
		if !errors.Is(err, ops.ErrOutOfMemory) {
			break
		}
	}
	return nil, err
}

// Setup allocates every buffer for batches of up to maxBatch images of
// 3×32×32 and binds the parameters. Call Init or load weights next.
func (net *Network) Setup(maxBatch int) error { return net.SetupSize(maxBatch, 32) }

// SetupSize is Setup for size×size images (tests use small ones; RoR's
// stride-4 root shortcut needs a multiple of 4).
func (net *Network) SetupSize(maxBatch, size int) error {
	if maxBatch < 1 || size < 4 || size%4 != 0 {
		panic("models: Setup needs a batch size >= 1 and an image size that is a multiple of 4")
	}
	e := net.Env
	if e.Recompute == layers.RecomputeAuto {
		panic("models: Env.Recompute is RecomputeAuto; the caller picks a mode (see train.New)")
	}
	net.maxBatch = maxBatch
	net.Params.Bind(e)
	alloc := func(shape ...int) ops.Tensor { return e.AllocAs(e.Act, shape...) } // activation gradients
	shape := ops.Shape{maxBatch, 3, size, size}
	largest := shape.Len()
	shape = net.Stem.Setup(shape)
	for s, u := range net.Units {
		for st := 0; st < 3; st++ {
			if net.StageStart[st] == s {
				// RoR sources must exist (with their shape) before the units that read them.
				net.stageIn[st] = shapeOnly(shape.Clone())
				if net.rorUsed[st] {
					net.stageGradAll[st] = alloc(shape...)
					net.stageGrad[st] = net.stageGradAll[st]
				}
			}
		}
		shape = u.Setup(shape)
		largest = max(largest, shape.Len())
	}
	if !net.Final.Empty() {
		shape = net.Final.Setup(shape)
	}
	featShape := shape
	pooled := net.Pool.Setup(shape)
	out := net.FC.Setup(pooled)
	net.logits = nil
	net.losses = e.Alloc(maxBatch) // the loss and its gradient: float32 (layers.Env.Act)
	net.correct = e.Alloc(maxBatch)
	net.dlogits = e.Alloc(out...)
	net.poolGrad = alloc(pooled...)
	net.featGrad = alloc(featShape...)
	for _, u := range net.Units {
		largest = max(largest, u.OutShape().Len())
	}
	for i := range net.chain {
		net.chain[i] = alloc(largest)
	}
	e.Scratch.Reserve(largest)
	e.Scratch.Preallocate(e.Scratch.Depth())
	if err := e.Err(); err != nil {
		if errors.Is(err, ops.ErrOutOfMemory) && e.Recompute != layers.RecomputeUnit {
			return fmt.Errorf("set up %s for batch %d: %w (recomputing needs less: deepres --recompute bn keeps about half to three quarters of the activations, --recompute unit a quarter)", net.Cfg.Name, maxBatch, err)
		}
		return fmt.Errorf("set up %s for batch %d: %w", net.Cfg.Name, maxBatch, err)
	}
	net.unitRanges = net.paramRanges()
	net.decayed = net.Params.Decayed()
	return nil
}

// paramRanges lists, per unit, the contiguous runs of the flat gradient
// buffer its branch owns, so a dropped unit's gradients can be zeroed with
// one Fill per run.
func (net *Network) paramRanges() [][]offsetRange {
	owner := map[string]int{}
	for i, u := range net.Units {
		owner[u.Name+"."] = i
	}
	ranges := make([][]offsetRange, len(net.Units))
	for _, p := range net.Params.Params {
		i, ok := unitOf(p.Name, owner)
		if !ok {
			continue
		}
		rs := ranges[i]
		n := p.Shape.Len()
		if k := len(rs) - 1; k >= 0 && rs[k].off+rs[k].n == p.Offset() {
			rs[k].n += n
		} else {
			rs = append(rs, offsetRange{p.Offset(), n})
		}
		ranges[i] = rs
	}
	return ranges
}

func unitOf(name string, owner map[string]int) (int, bool) {
	// "layer2.13.conv1.weight" → "layer2.13."
	dots := 0
	for i, c := range name {
		if c == '.' {
			dots++
			if dots == 2 {
				u, ok := owner[name[:i+1]]
				return u, ok
			}
		}
	}
	return 0, false
}

// Close releases every buffer the network allocated on its backend
// (parameters, activations, gradients, momentum). It is idempotent; the
// backend itself stays open.
func (net *Network) Close() { net.Env.Free(); net.momentum = nil }

// MaxBatch is the largest batch Setup allocated for.
func (net *Network) MaxBatch() int { return net.maxBatch }

// Init draws fresh weights (He et al.'s rules) from seed.
func (net *Network) Init(seed uint64) {
	net.Params.Initialize(net.Env.B, rand.New(rand.NewPCG(seed, 0x6465657072657321)))
}

// DrawDepth draws this step's stochastic-depth mask from r (one Bernoulli
// per unit, in unit order) and returns how many units are active. Without
// SD every unit is active and r is not used.
func (net *Network) DrawDepth(r *rand.Rand) int {
	active := 0
	for _, u := range net.Units {
		u.Active = u.Survival >= 1 || r.Float64() < u.Survival
		if u.Active {
			active++
		}
	}
	return active
}

// MaskInto writes this step's stochastic-depth mask into dst, one float per
// unit: 1 for a kept unit, 0 for a dropped one (what a captured step reads
// from layers.Env.Mask).
func (net *Network) MaskInto(dst []float32) {
	if len(dst) != len(net.Units) {
		panic(fmt.Sprintf("models: MaskInto %d floats for %d units", len(dst), len(net.Units)))
	}
	for i, u := range net.Units {
		dst[i] = 0
		if u.Active {
			dst[i] = 1
		}
	}
}

// ExpectedDepth is Σ p_l, the expected number of active units.
func (net *Network) ExpectedDepth() float64 {
	s := 0.0
	for _, p := range net.Survival {
		s += p
	}
	return s
}

// SetTraining switches between training and evaluation behaviour.
func (net *Network) SetTraining(train bool) { net.Env.Train = train }

// Forward runs the network on x (N,3,32,32), N <= MaxBatch, and returns the
// logits (N, classes), valid until the next Forward.
func (net *Network) Forward(x ops.Tensor) ops.Tensor {
	n := x.Shape()[0]
	if n > net.maxBatch {
		panic(fmt.Sprintf("models: batch %d exceeds the %d Setup allocated", n, net.maxBatch))
	}
	net.batch = n
	h := net.Stem.Forward(x)
	for i, u := range net.Units {
		for s := 0; s < 3; s++ {
			if net.StageStart[s] == i {
				// Units never overwrite their input, so h stays valid
				// until the extras read it at the stage's end.
				net.stageIn[s] = h
			}
		}
		h = u.Forward(h)
	}
	if !net.Final.Empty() {
		h = net.Final.Forward(h)
	}
	p := net.Pool.Forward(h)
	net.logits = net.FC.Forward(p)
	return net.logits
}

// shapeOnly stands for a tensor whose shape is known at Setup but whose
// storage belongs to another module (a stage's input).
type shapeOnly ops.Shape

func (s shapeOnly) Shape() ops.Shape { return ops.Shape(s) }
