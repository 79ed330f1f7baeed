package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/train"
)

func runTrain(args []string) error {
	sigs := catchSignals() // first: a signal during loading is "run me again" (75), not 143
	fs := newFlags("train", "--model M --dataset D --data DIR [flags]")
	var mf modelFlags
	mf.add(fs)
	cfg := train.Default()
	dataset := fs.String("dataset", "cifar10", "dataset: cifar10, cifar100, svhn or folder")
	dir := fs.String("data", "data", "dataset folder (or archive)")
	download := fs.Bool("download", false, "download the dataset into --data if it is missing")
	device := fs.String("device", "auto", "auto, cpu, cuda or cuda:N")
	math := fs.String("math", "tf32", "GPU math: tf32 (TensorFloat-32 allowed, as PyTorch does for convolutions) or fp32")
	precision := fs.String("precision", "", precisionUsage+" (default: --math's)")
	layout := fs.String("layout", "auto", layoutUsage+" (with --resume: default the run's own)")
	fs.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "mini-batch size")
	fs.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "epochs to train")
	fs.IntVar(&cfg.Steps, "steps", 0, "iterations to train (overrides --epochs)")
	fs.Float64Var(&cfg.LR, "lr", cfg.LR, "base learning rate")
	schedule := fs.String("lr-schedule", cfg.Schedule.String(), "constant | step:F1,F2 (fractions) | multistep:I1,I2 (iterations, or 30e,35e: after 30 and 35 completed epochs) | cosine; step and multistep take @FACTOR, the multiplier at each milestone (default 0.1), e.g. multistep:59e,119e,159e@0.2")
	fs.IntVar(&cfg.WarmupSteps, "warmup-steps", 0, "iterations at --warmup-lr before the schedule")
	fs.Float64Var(&cfg.WarmupLR, "warmup-lr", cfg.WarmupLR, "learning rate during warm-up")
	fs.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "SGD momentum")
	fs.BoolVar(&cfg.Nesterov, "nesterov", false, "Nesterov momentum")
	fs.Float64Var(&cfg.WD, "wd", cfg.WD, "weight decay (on every parameter, BN included)")
	fs.BoolVar(&cfg.Augment, "augment", true, "\"+\" augmentation: pad 4, random crop, flip")
	pad := fs.String("pad", string(cfg.Pad), "what the augmentation pads with: zero (after normalising: the mean colour), reflect (mirror), black (pixel 0, torchvision's order)")
	normalize := fs.String("normalize", string(cfg.Normalize), "per-channel (mean and std per channel) or per-pixel-global (the training split's mean image and one std)")
	fs.BoolVar(&cfg.Shuffle, "shuffle", true, "reshuffle the training set every epoch")
	valSplit := fs.Int("val-split", 0, "hold out this many training images for validation (e.g. 5000)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of weights, data order, augmentation, dropout and stochastic depth")
	initFile := fs.String("init", "", "start from the weights in this checkpoint (of the same model and configuration)")
	initPartial := fs.Bool("init-partial", false, "with --init: load the tensors whose names and shapes match, initialise the rest, and list both")
	resume := fs.String("resume", "", resumeHelp())
	overrides := fs.StringArray("override", nil, "with --resume: change "+strings.Join(train.Overridable, ", ")+" from the checkpoint's step on, e.g. lr=0.01 (recorded; breaks bit-exactness from there)")
	fs.StringVar(&cfg.Out, "out", "", "run folder for metrics and checkpoints (default runs/<model>-<time>); refused if it holds a run")
	overwrite := fs.Bool("overwrite", false, "replace the run in --out (its checkpoints and metrics are deleted)")
	fs.IntVar(&cfg.CheckpointEvery, "checkpoint-every", 1, "write last.safetensors every N epochs (0: at the end only)")
	recompute := fs.String("recompute", "auto", "what residual units keep for the backward pass: off (everything), bn (conv outputs: BN and ReLU recomputed, no conv twice), unit (unit outputs only: 1/4 of the activations), auto (the first of those that fits in the device's memory); same results")
	fuse := fs.Bool("fuse", false, "batch norm, shortcut addition and ReLU as one op where the units allow it (original units: BN-add-ReLU; elsewhere BN-ReLU); fewer passes over memory, float rounding differs slightly; off by default until timed on a GPU")
	graphs := fs.String("cuda-graphs", "auto", "launch each training step as one CUDA graph: auto (when the GPU and the model allow it, else every op, saying why once), on (refuse to run otherwise), off; same results")
	preset := fs.String("preset", "", "a paper's recipe: he2016, sd2016, wrn2016 or ror2016: defaults for batch, lr, schedule, epochs, momentum, wd, normalisation, pad, validation split and init (flags you type win)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *resume != "" {
		if err := checkResumeFlags(fs); err != nil {
			return err
		}
	} else if fs.Changed("override") {
		return usagef("--override changes a resumed run; give it with --resume DIR")
	}
	presetLine := ""
	if *preset != "" {
		var err error
		if presetLine, err = applyPreset(fs, *preset, *dataset, mf.model); err != nil {
			return err
		}
	}
	if err := checkFiniteFlags(fs); err != nil {
		return err
	}
	rc, err := layers.ParseRecompute(*recompute)
	if err != nil {
		return usagef("--recompute: %v", err)
	}
	cfg.Recompute = rc
	cfg.Fuse = fuse
	if cfg.Graphs, err = train.ParseGraphMode(*graphs); err != nil {
		return usagef("--cuda-graphs: %v", err)
	}
	if cfg.Graphs == train.GraphsOn && *device == "cpu" {
		return usagef("--cuda-graphs on: the CPU cannot capture steps (CUDA graphs are a GPU's); drop it or use --device cuda")
	}
	if _, _, err := resolvePrecision(fs, *precision, *math); err != nil {
		return err
	}
	if err := checkLayoutFlag(*layout); err != nil {
		return err
	}
	if *resume != "" {
		o := resumeOptions{device: *device, overrides: *overrides, graphs: cfg.Graphs}
		if fs.Changed("math") {
			o.math = *math
		}
		if fs.Changed("precision") {
			if o.math, o.precision, err = resolvePrecision(fs, *precision, *math); err != nil {
				return err
			}
			if !fs.Changed("math") && o.precision != "fp32" && o.precision != "tf32" {
				o.math = "" // bf16/fp16 alone keep the run's math
			}
		}
		if fs.Changed("recompute") {
			o.recompute = &rc
		}
		if fs.Changed("fuse") {
			o.fuse = fuse
		}
		if fs.Changed("layout") {
			o.layout = *layout
		}
		if fs.Changed("data") {
			o.dataDir = *dir
		}
		return resumeRun(*resume, o, sigs)
	}
	if fs.Changed("classes") {
		return usagef("--classes is for init and bench: train takes the number of classes from the dataset")
	}
	if *initPartial && *initFile == "" {
		return usagef("--init-partial needs --init FILE")
	}
	// --init loads every weight: how fresh ones would be drawn cannot matter
	// (with --init-partial it does, for those it does not load).
	for _, name := range []string{"init-fan", "bn-scale-init"} {
		if *initFile != "" && !*initPartial && typed(fs, name) {
			return usagef("--%s has no effect with --init, which loads every weight (with --init-partial it draws those not loaded)", name)
		}
	}
	if *valSplit < 0 {
		return usagef("--val-split must be >= 0, got %d", *valSplit)
	}
	if fs.Changed("steps") && fs.Changed("epochs") {
		return usagef("give --epochs or --steps, not both")
	}
	if fs.Changed("steps") {
		cfg.Epochs = 0
	}
	sc, err := train.ParseSchedule(*schedule)
	if err != nil {
		return usagef("--lr-schedule: %v", err)
	}
	cfg.Schedule = sc
	if cfg.Pad, err = data.ParsePadMode(*pad); err != nil {
		return usagef("--pad: %v", err)
	}
	if cfg.Normalize, err = data.ParseNormMode(*normalize); err != nil {
		return usagef("--normalize: %v", err)
	}
	kind, err := data.ParseKind(*dataset)
	if err != nil {
		return usagef("--dataset: %v", err)
	}
	freshOut := cfg.Out == ""
	if freshOut {
		if *overwrite {
			return usagef("--overwrite replaces the run in --out; give --out")
		}
		cfg.Out = defaultRunFolder(mf.model)
	}
	// classes come from the dataset; parse the model once to reject bad flags early
	if mc, err := mf.config(); err != nil {
		return err
	} else if why := train.NotCaptured(mc); cfg.Graphs == train.GraphsOn && why != "" {
		return usagef("--cuda-graphs on: %s (auto launches every op then)", why)
	}
	if *download {
		if kind == data.Folder {
			return usagef("--download: image folders are not downloaded; point --data at one")
		}
		if err := data.Download(context.Background(), kind, *dir, os.Stderr); err != nil {
			return err
		}
	}
	trainDS, testDS, err := loadSplits(kind, *dir)
	if err != nil {
		return err
	}
	id := train.IdentifyData(*dataset, *dir, trainDS, testDS)
	cfg.Data = &id
	var valDS *data.Dataset
	if *valSplit > 0 {
		if *valSplit >= trainDS.N {
			from := ""
			if !typed(fs, "val-split") {
				from = fmt.Sprintf(" (set by --preset %s; --val-split 0 trains on all of it)", *preset)
			}
			return usagef("--val-split %d leaves no training images (the set has %d)%s", *valSplit, trainDS.N, from)
		}
		trainDS, valDS = data.SplitValidation(trainDS, *valSplit, cfg.Seed)
	}
	cfg.Dataset, cfg.DataDir, cfg.ValSplit = *dataset, *dir, *valSplit
	mf.classes = len(trainDS.Classes)
	if cfg.Model, err = mf.config(); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if err := checkLength(fs, cfg, trainDS.N); err != nil {
		return err
	}
	lock, clearOld, err := openRunFolder(&cfg.Out, freshOut, *overwrite)
	if err != nil {
		return err
	}
	defer lock.Close()
	noteLeftovers(cfg.Out, lock)
	if cfg.Math, cfg.Precision, err = resolvePrecision(fs, *precision, *math); err != nil {
		return err
	}
	t, b, err := newTrainer(cfg, *device, cfg.Math, *layout, kind, trainDS, valDS, testDS)
	if err != nil {
		return err
	}
	defer b.Close()
	defer t.Close()
	switch {
	case *initPartial:
		msg, err := t.LoadInitPartial(*initFile)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "deepres: --init-partial: %s\n", msg)
	case *initFile != "":
		notes, err := t.LoadInit(*initFile)
		if err != nil {
			return err
		}
		for _, n := range notes {
			fmt.Fprintf(os.Stderr, "deepres: %s\n", n)
		}
	}
	if err := clearOld(); err != nil {
		return err
	}
	mode := ""
	if r := t.Net.Env.Recompute; r != layers.StoreAll {
		mode = ", --recompute " + r.String()
	}
	if t.Net.Env.Fuse {
		mode += ", --fuse"
	}
	if t.Net.Env.Layout != ops.NCHW {
		mode += ", --layout " + t.Net.Env.Layout.String()
	}
	fmt.Fprintf(os.Stderr, "deepres: %s (%d parameters) on %s%s: %d training images, %d steps, run folder %s\n",
		cfg.Model.Name, t.Net.Params.Count(), b.Name(), mode, trainDS.N, t.TotalSteps(), cfg.Out)
	if presetLine != "" {
		fmt.Fprintf(os.Stderr, "deepres: %s\n", presetLine)
	}
	t.Command = append([]string{"deepres"}, os.Args[1:]...)
	t.Owner = lock.Check
	return runTrainer(t, sigs)
}

func loadSplits(kind data.Kind, dir string) (trainDS, testDS *data.Dataset, err error) {
	if trainDS, err = data.Load(kind, dir, data.Train); err != nil {
		if errors.Is(err, os.ErrNotExist) && kind != data.Folder {
			err = fmt.Errorf("%w\nHINT: add --download to fetch %s into %s", err, kind, dir)
		}
		return nil, nil, err
	}
	if testDS, err = data.Load(kind, dir, data.Test); err != nil {
		return nil, nil, err
	}
	// Up front: an empty training split has no steps, and an empty test
	// split would fail only after a whole epoch.
	for _, ds := range []*data.Dataset{trainDS, testDS} {
		if ds.N == 0 {
			return nil, nil, fmt.Errorf("%s: %s (%s) holds no images; a run needs images in both splits", dir, ds.Name, kind)
		}
	}
	if !slices.Equal(trainDS.Classes, testDS.Classes) {
		return nil, nil, fmt.Errorf("%s: the train split's classes %v differ from the test split's %v", dir, trainDS.Classes, testDS.Classes)
	}
	return trainDS, testDS, nil
}

// runTrainer runs t with a progress display; from here on, a stop signal
// ends the run at a checkpoint.
func runTrainer(t *train.Trainer, sigs *runSignals) error {
	t.Fault = faultFromEnv()
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	t.Logf = func(format string, args ...any) {
		if tty {
			fmt.Fprint(os.Stderr, "\r\033[K")
		}
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
	start := time.Now()
	startStep := -1
	last := time.Time{}
	t.Progress = func(p train.Progress) {
		if startStep < 0 {
			startStep = p.Step - 1
		}
		if time.Since(last) < 200*time.Millisecond && p.Batch != p.Batches {
			return
		}
		last = time.Now()
		done := float64(p.Step-startStep) / time.Since(start).Seconds()
		eta := time.Duration(float64(p.Steps-p.Step)/done) * time.Second
		stats := "loss –  acc –" // not downloaded yet: 0 would be a lie
		if p.HaveStats {
			stats = fmt.Sprintf("loss %.4f  acc %.2f%%", p.Loss, 100*p.Accuracy)
		}
		line := fmt.Sprintf("epoch %d/%d %s %d/%d  %s  lr %.4g  %.0f img/s  ETA %s",
			p.Epoch, p.Epochs, bar(p.Batch, p.Batches, 20), p.Batch, p.Batches, stats, p.LR, p.ImagesPerSec, eta.Round(time.Second))
		if tty {
			fmt.Fprintf(os.Stderr, "\r\033[K%s", line)
		} else if p.Batch == p.Batches || p.Batch%100 == 0 {
			fmt.Fprintln(os.Stderr, line)
		}
	}
	sigs.start()
	err := t.Run(sigs.Context)
	if tty {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
	if errors.Is(err, train.ErrInterrupted) {
		return fmt.Errorf("%w; continue with: deepres train --resume %s", err, t.Cfg.Out)
	}
	if err == nil {
		fmt.Fprintf(os.Stderr, "deepres: done in %s; checkpoints and metrics.jsonl in %s\n", time.Since(start).Round(time.Second), t.Cfg.Out)
	}
	return err
}

func bar(done, total, width int) string {
	n := width * done / max(total, 1)
	b := make([]byte, width)
	for i := range b {
		b[i] = '.'
		if i < n {
			b[i] = '='
		}
	}
	return "[" + string(b) + "]"
}

// newTrainer opens the device and builds the run on it, storing its
// activations as layout (--layout, or the run's own on resume) resolves
// there (recorded in cfg.Layout); the caller closes the backend.
func newTrainer(cfg train.Config, device, math, layout string, kind data.Kind, trainDS, valDS, testDS *data.Dataset) (*train.Trainer, ops.Backend, error) {
	b, err := openDevice(device, math)
	if err != nil {
		return nil, nil, err
	}
	if err := checkPrecision(b, cfg.PrecisionOf()); err != nil {
		b.Close()
		return nil, nil, err
	}
	l, note, err := resolveLayout(b, layout, cfg.PrecisionOf())
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	if note != "" {
		fmt.Fprintf(os.Stderr, "deepres: %s\n", note)
	}
	cfg.Layout = l.String()
	t, err := train.New(cfg, b, trainDS, valDS, testDS, data.NormalizationBy(cfg.Normalize, kind, trainDS))
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	warnCPU(b, t)
	return t, b, nil
}

// warnCPU warns when a big network is about to train on the CPU reference,
// which is meant for checking, not for the papers' runs.
func warnCPU(b ops.Backend, t *train.Trainer) {
	if _, ok := b.(*cpuref.Backend); ok && t.Net.Params.Count() > 1_000_000 {
		fmt.Fprintf(os.Stderr, "deepres: warning: %s (%d parameters) on the CPU reference takes hours to days per run; the progress line shows the ETA. Use a GPU (--device cuda) for real runs.\n",
			t.Cfg.Model.Name, t.Net.Params.Count())
	}
}
