package train

import (
	"fmt"
	"strconv"

	"github.com/deepres/deepres/data"
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
	// Pad is what the augmentation pads with (empty, in runs recorded
	// before it existed: data.PadBlack, what they did).
	Pad data.PadMode `json:",omitempty"`
	// Normalize is how images are normalised (empty: per channel).
	Normalize data.NormMode `json:",omitempty"`
	Shuffle   bool
	Seed      uint64
	// Out is the run folder: metrics.jsonl, last.safetensors, best.safetensors.
	Out             string
	CheckpointEvery int // epochs between checkpoints of last.safetensors (0: end only)
	Workers         int // data-loading goroutines (0: GOMAXPROCS)
	// Recompute is what residual units keep for the backward pass
	// (layers.Recompute): less activation memory for recomputing the rest;
	// RecomputeAuto (the default) takes the first mode that fits. It changes
	// no result; --resume may switch it.
	Recompute layers.Recompute
	// Fuse runs batch norm, the shortcut addition and ReLU as one op where
	// the units allow it (layers.Env.Fuse; --fuse). It changes float
	// rounding only; --resume may switch it. Off by default: on the CPU the
	// fused op is no faster, and on a GPU its kernels (gpu/kernels/
	// reduce_bn.cu, one block per channel in the statistics pass) replace
	// cuDNN's batch norm and have never been timed against it; a default
	// that could make training slower waits for a GPU measurement. Nil in
	// runs recorded before it existed, which ran unfused (see Fused).
	Fuse *bool `json:",omitempty"`
	// Graphs is how steps are launched (--cuda-graphs; empty: auto). It
	// changes no result (graph and eager steps give the same bits), so it
	// is not recorded: a resumed run takes its own flag.
	Graphs GraphMode `json:"-"`
	// Math is the GPU math the run was started with ("tf32" or "fp32"):
	// --resume keeps it unless --math is typed, so that a resumed run
	// rounds as the interrupted one did. Empty in runs recorded before it
	// existed (tf32, the default then).
	Math string `json:",omitempty"`
	// Precision is --precision (fp32, tf32, bf16 or fp16; see Precisions):
	// bf16 and fp16 store activations in half precision. Weights stay
	// float32 in the checkpoint whatever it is, so --resume and eval may
	// pick another. Empty in runs recorded before it existed (float32
	// storage; Math says which math).
	Precision string `json:",omitempty"`
	// Layout is the storage layout of 4-D activations, "nchw" or "nhwc"
	// (--layout, with auto resolved for the device; see LayoutOf). It
	// changes no value on the CPU and is recorded so that --resume keeps
	// it; --resume and eval may pick another. Empty in runs recorded
	// before it existed: nchw.
	Layout string `json:",omitempty"`
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
		WarmupLR: 0.01, Momentum: 0.9, WD: 1e-4, Augment: true, Pad: data.PadZero, Normalize: data.PerChannel, Shuffle: true, Seed: 1,
		Recompute: layers.RecomputeAuto}
}

// Fused is Fuse with its default (false) for nil.
func (c Config) Fused() bool { return c.Fuse != nil && *c.Fuse }

// Presets are the papers' recipes (README.md, "Reproducing the papers").
var Presets = []string{"he2016", "sd2016", "wrn2016", "ror2016"}

// PresetFlag is one setting of a preset, written as the train command's flag
// and the text a user would type for it, so that a preset is only a set of
// defaults: the command applies each one unless the user typed that flag.
type PresetFlag struct {
	Flag, Value string
}

// Preset returns the named recipe's settings for the given dataset ("cifar10",
// "cifar100", "svhn", "folder") and model family ("resnet", "preact-resnet",
// "wrn"). Each recipe sets every knob it has an opinion on, so a run under
// it says in full what it did.
func Preset(name, dataset, family string) ([]PresetFlag, error) {
	svhn := dataset == "svhn"
	augment := strconv.FormatBool(!svhn)
	switch name {
	case "he2016":
		return he2016(augment), nil
	case "sd2016":
		return sd2016(augment, svhn, "1e-4"), nil
	case "wrn2016":
		return wrn2016(augment), nil
	case "ror2016":
		// Zhang et al. (RoR): every family on the stochastic-depth recipe
		// above, whose code their RoR+SD results build on, and WRN with
		// Zagoruyko and Komodakis's weight decay 5e-4 (docs/design.md). What the
		// paper's tables say themselves: Tables V (Pre-ResNets, Pre-RoR-3)
		// and VI (WRN40-2, RoR-3-WRN40-2) are headed "500 Epoch", and
		// Table XI's RoR entries are their "+SD" cells. The paper's own
		// implementation section was not at hand when this was written:
		// per-family details beyond these (normalisation, init) follow
		// sd2016 unverified.
		wd := "1e-4"
		if family == "wrn" {
			wd = "5e-4"
		}
		return sd2016(augment, svhn, wd), nil
	}
	return nil, fmt.Errorf("unknown preset %q (valid: %v)", name, Presets)
}

// he2016 is He et al. 2016 on fb.resnet.torch's CIFAR pipeline, with the
// paper's optimisation where the two differ: plain momentum 0.9 (train.lua
// sets nesterov = true), wd 1e-4, batch 128, 64k iterations ÷10 at 32k and
// 48k with 0.01 for the first 400, the paper's ResNet-110/1202 warm-up
// (train.lua: 164 epochs ÷10 from 1-based epochs 81 and 122, no warm-up);
// per-channel normalisation, then pad 4 with zeros, crop, flip
// (datasets/cifar10.lua, transforms.lua); He's init (resnet-pre-act.lua
// ConvInit n = kW·kH·nOutputPlane, BNInit weight 1); option A by
// subsampling (preresnet.lua).
func he2016(augment string) []PresetFlag {
	return []PresetFlag{{"batch-size", "128"}, {"lr", "0.1"}, {"momentum", "0.9"}, {"nesterov", "false"},
		{"wd", "1e-4"}, {"steps", "64000"}, {"lr-schedule", "multistep:32000,48000"},
		{"warmup-steps", "400"}, {"warmup-lr", "0.01"}, {"augment", augment},
		{"normalize", "per-channel"}, {"pad", "zero"}, {"val-split", "0"},
		{"init-fan", "out"}, {"bn-scale-init", "one"}, {"option-a", "subsample"}}
}

// sd2016 is Huang et al. 2016's Stochastic_Depth main.lua: batch 128,
// Nesterov momentum 0.9 with dampening 0, wd 1e-4, 500 epochs at 0.1, 0.01
// from 1-based epoch 250 and 0.001 from 375 (lr = 0.1 while epochCounter <
// maxEpochs·0.5), hence 249e and 374e; a 45k/5k train/validation split
// (cifar-dataset.lua: trsize 45000, vasize 5000) with the test error read at
// the best validation epoch (their README); per-pixel mean image and one
// global std, pad after normalising (cifar-dataset.lua); conv init
// nninit.kaiming (fan-in) and cudnn.torch's U(0,1) BN weights
// (ResidualDrop.lua, main.lua); average-pool option A (ResidualDrop.lua).
// SVHN: 50 epochs ÷10 after 30 and 35, no augmentation (Huang et al. Sec. 4).
func sd2016(augment string, svhn bool, wd string) []PresetFlag {
	p := []PresetFlag{{"batch-size", "128"}, {"lr", "0.1"}, {"momentum", "0.9"}, {"nesterov", "true"},
		{"wd", wd}, {"warmup-steps", "0"}, {"augment", augment},
		{"normalize", "per-pixel-global"}, {"pad", "zero"}, {"val-split", "5000"},
		{"init-fan", "in"}, {"bn-scale-init", "uniform"}, {"option-a", "avgpool"}}
	if svhn {
		return append(p, PresetFlag{"epochs", "50"}, PresetFlag{"lr-schedule", "multistep:30e,35e"})
	}
	return append(p, PresetFlag{"epochs", "500"}, PresetFlag{"lr-schedule", "multistep:249e,374e"})
}

// wrn2016 is Zagoruyko and Komodakis's wide-residual-networks train.lua
// with scripts/train_cifar.sh: batch 128, lr 0.1 ×0.2 (learningRateDecayRatio)
// at the start of 1-based epochs 60, 120 and 160 (epoch_step, applied before
// the epoch runs: 59e, 119e, 159e here) of 200, wd 5e-4, Nesterov with
// dampening 0, reflection padding (randomcrop_type=reflection); MSRinit
// (models/utils.lua: n = kW·kH·nInputPlane, fan-in), BN weight U(0, 1) (torch/nn
// BatchNormalization.lua reset: weight:uniform(), which wide-resnet.lua never
// overrides, so U(0, 1)); per-channel normalisation (their data files are
// prepared outside the repository; this was not verified).
func wrn2016(augment string) []PresetFlag {
	return []PresetFlag{{"batch-size", "128"}, {"lr", "0.1"}, {"momentum", "0.9"}, {"nesterov", "true"},
		{"wd", "5e-4"}, {"warmup-steps", "0"}, {"augment", augment}, {"epochs", "200"},
		{"lr-schedule", "multistep:59e,119e,159e@0.2"},
		{"normalize", "per-channel"}, {"pad", "reflect"}, {"val-split", "0"},
		{"init-fan", "in"}, {"bn-scale-init", "uniform"}}
}

// Validate rejects impossible settings before any work starts.
func (c Config) Validate() error {
	if _, err := StorageOf(c.Precision); err != nil {
		return err
	}
	if _, err := LayoutOf(c.Layout); err != nil {
		return err
	}
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
	if c.Pad != "" {
		if _, err := data.ParsePadMode(string(c.Pad)); err != nil {
			return fmt.Errorf("--pad: %w", err)
		}
	}
	if c.Normalize != "" {
		if _, err := data.ParseNormMode(string(c.Normalize)); err != nil {
			return fmt.Errorf("--normalize: %w", err)
		}
	}
	if _, err := ParseGraphMode(string(c.Graphs)); err != nil {
		return fmt.Errorf("--cuda-graphs: %w", err)
	}
	if why := NotCaptured(c.Model); c.Graphs == GraphsOn && why != "" {
		return fmt.Errorf("--cuda-graphs on: %s (auto launches every op then)", why)
	}
	return c.Model.Validate()
}
