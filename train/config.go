package train

import (
	"fmt"
	"strconv"

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
	// Data identifies the data the run trains on (nil in checkpoints
	// written before it was recorded).
	Data *DataIdentity `json:",omitempty"`
	// Overrides are the learning-rate changes made on --resume, in order.
	Overrides []Override `json:",omitempty"`
}

// Default is what a run gets without flags: He et al.'s CIFAR recipe on
// the schedule's fractions, for 164 epochs.
func Default() Config {
	return Config{BatchSize: 128, Epochs: 164, LR: 0.1, Schedule: Schedule{Kind: "step", Fractions: []float64{0.5, 0.75}},
		WarmupLR: 0.01, Momentum: 0.9, WD: 1e-4, Augment: true, Shuffle: true, Seed: 1, Recompute: layers.RecomputeAuto}
}

// Presets are the papers' recipes (README.md, "Reproducing the papers").
var Presets = []string{"he2016", "sd2016", "ror2016"}

// PresetFlag is one setting of a preset, written as the train command's flag
// and the text a user would type for it, so that a preset is only a set of
// defaults: the command applies each one unless the user typed that flag.
type PresetFlag struct {
	Flag, Value string
}

// Preset returns the named recipe's settings for the given dataset ("cifar10",
// "cifar100", "svhn", "folder") and model family ("resnet", "preact", "wrn").
func Preset(name, dataset, family string) ([]PresetFlag, error) {
	svhn := dataset == "svhn"
	augment := strconv.FormatBool(!svhn)
	switch name {
	case "he2016":
		// He et al. 2016: 64k iterations, ÷10 at 32k and 48k, warm-up 0.01
		// for the first 400 iterations (their ResNet-110/1202 recipe).
		return []PresetFlag{{"batch-size", "128"}, {"lr", "0.1"}, {"momentum", "0.9"}, {"nesterov", "false"},
			{"wd", "1e-4"}, {"steps", "64000"}, {"lr-schedule", "multistep:32000,48000"},
			{"warmup-steps", "400"}, {"warmup-lr", "0.01"}, {"augment", augment}}, nil
	case "sd2016", "ror2016":
		// Huang et al. 2016 (and Zhang et al., who follow them): Nesterov,
		// 500 epochs ÷10 at 50% and 75% on CIFAR; SVHN 50 epochs ÷10 at 30 and 35.
		wd := "1e-4"
		if name == "ror2016" && family == "wrn" {
			wd = "5e-4"
		}
		p := []PresetFlag{{"batch-size", "128"}, {"lr", "0.1"}, {"momentum", "0.9"}, {"nesterov", "true"},
			{"wd", wd}, {"warmup-steps", "0"}, {"augment", augment}}
		if svhn {
			return append(p, PresetFlag{"epochs", "50"}, PresetFlag{"lr-schedule", "multistep:30e,35e"}), nil
		}
		return append(p, PresetFlag{"epochs", "500"}, PresetFlag{"lr-schedule", "step:0.5,0.75"}), nil
	}
	return nil, fmt.Errorf("unknown preset %q (valid: %v)", name, Presets)
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
