package train

import (
	"fmt"

	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
)

// Config is one training run.
type Config struct {
	Model       models.Config
	BatchSize   int
	Epochs      int // used when Steps is 0
	Steps       int // total iterations; overrides Epochs
	LR          float64
	Schedule    Schedule
	WarmupSteps int
	WarmupLR    float64
	Momentum    float64
	Nesterov    bool
	WD          float64
	Augment     bool
	Shuffle     bool
	Seed        uint64
	// Out is the run folder: metrics.jsonl, last.safetensors, best.safetensors.
	Out             string
	CheckpointEvery int // epochs between checkpoints of last.safetensors (0: end only)
	Workers         int // data-loading goroutines (0: GOMAXPROCS)
	// Recompute is what residual units keep for the backward pass
	// (layers.Recompute): less activation memory for recomputing the rest;
	// RecomputeAuto (the default) takes the first mode that fits. It changes
	// no result; --resume may switch it.
	Recompute layers.Recompute
	// Dataset, DataDir and ValSplit record where the data came from, so
	// that --resume finds it again; the Trainer itself is handed datasets.
	Dataset  string
	DataDir  string
	ValSplit int
}

// Default is what a run gets without flags: He et al.'s CIFAR recipe on
// the schedule's fractions, for 164 epochs.
func Default() Config {
	return Config{BatchSize: 128, Epochs: 164, LR: 0.1, Schedule: Schedule{Kind: "step", Fractions: []float64{0.5, 0.75}},
		WarmupLR: 0.01, Momentum: 0.9, WD: 1e-4, Augment: true, Shuffle: true, Seed: 1, Recompute: layers.RecomputeAuto}
}

// Presets are the papers' recipes (shared/DESIGN.md, "Training recipes").
var Presets = []string{"he2016", "sd2016", "ror2016"}

// ApplyPreset sets every optimisation field of c to the named recipe for
// the given dataset ("cifar10", "cifar100", "svhn", "folder").
func ApplyPreset(c *Config, name, dataset string) error {
	svhn := dataset == "svhn"
	switch name {
	case "he2016":
		// He et al. 2016: 64k iterations, ÷10 at 32k and 48k, warm-up 0.01
		// for the first 400 iterations (their ResNet-110/1202 recipe).
		c.BatchSize, c.LR, c.Momentum, c.Nesterov, c.WD = 128, 0.1, 0.9, false, 1e-4
		c.Steps, c.Epochs = 64000, 0
		c.Schedule = Schedule{Kind: "multistep", Steps: []int{32000, 48000}}
		c.WarmupSteps, c.WarmupLR = 400, 0.01
		c.Augment = !svhn
	case "sd2016", "ror2016":
		// Huang et al. 2016 (and Zhang et al., who follow them): Nesterov,
		// 500 epochs ÷10 at 50% and 75% on CIFAR; SVHN 50 epochs ÷10 at 30 and 35.
		c.BatchSize, c.LR, c.Momentum, c.Nesterov, c.WD = 128, 0.1, 0.9, true, 1e-4
		c.Steps, c.WarmupSteps = 0, 0
		if svhn {
			c.Epochs = 50
			c.Schedule = Schedule{Kind: "multistep", Epochs: []int{30, 35}}
			c.Augment = false
		} else {
			c.Epochs = 500
			c.Schedule = Schedule{Kind: "step", Fractions: []float64{0.5, 0.75}}
			c.Augment = true
		}
		if name == "ror2016" && c.Model.Family == "wrn" {
			c.WD = 5e-4
		}
	default:
		return fmt.Errorf("unknown preset %q (valid: %v)", name, Presets)
	}
	return nil
}

// Validate rejects impossible settings before any work starts.
func (c Config) Validate() error {
	switch {
	case c.BatchSize < 1:
		return fmt.Errorf("batch size must be >= 1, got %d", c.BatchSize)
	case c.Steps < 0 || c.Epochs < 0 || (c.Steps == 0 && c.Epochs == 0):
		return fmt.Errorf("need --epochs or --steps >= 1")
	case c.LR <= 0:
		return fmt.Errorf("learning rate must be > 0, got %g", c.LR)
	case c.Momentum < 0 || c.Momentum >= 1:
		return fmt.Errorf("momentum must be in [0, 1), got %g", c.Momentum)
	case c.Nesterov && c.Momentum == 0:
		return fmt.Errorf("Nesterov momentum needs --momentum > 0")
	case c.WD < 0:
		return fmt.Errorf("weight decay must be >= 0, got %g", c.WD)
	case c.WarmupSteps < 0 || (c.WarmupSteps > 0 && c.WarmupLR <= 0):
		return fmt.Errorf("warm-up needs steps >= 0 and a positive --warmup-lr")
	case c.CheckpointEvery < 0:
		return fmt.Errorf("--checkpoint-every must be >= 0")
	case c.Out == "":
		return fmt.Errorf("need an output folder (--out)")
	}
	return c.Model.Validate()
}
