package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/train"
)

// resumeAllowed are the train flags that may be typed with --resume: they
// change where and how the run computes, never what it computes (another
// device, a typed --math, --precision or --fuse changes float rounding only (without them the run keeps its own; weights are float32 in every checkpoint); --recompute and --layout are bitwise
// neutral on the CPU). --data is
// for data that moved; the data's identity, recorded in the checkpoint,
// must match. Every other flag would change the run and is refused, so a
// flag added later is covered without code here; the learning-rate
// settings may change only through --override (train.Overridable).
var resumeAllowed = []string{"resume", "device", "math", "precision", "recompute", "fuse", "cuda-graphs", "data", "layout", "override"}

// resumeHelp is --resume's help text, naming what may change.
func resumeHelp() string {
	var allowed []string
	for _, f := range resumeAllowed[1:] {
		if f != "override" {
			allowed = append(allowed, "--"+f)
		}
	}
	return fmt.Sprintf("continue the run in this folder exactly where it stopped; only %s and --override (%s) may be given with it",
		strings.Join(allowed, ", "), strings.Join(train.Overridable, ", "))
}

// checkResumeFlags refuses every typed flag outside resumeAllowed.
func checkResumeFlags(fs *pflag.FlagSet) error {
	var bad []string
	fs.Visit(func(f *pflag.Flag) {
		if !slices.Contains(resumeAllowed, f.Name) {
			bad = append(bad, "--"+f.Name)
		}
	})
	if len(bad) == 0 {
		return nil
	}
	hint := ""
	for _, b := range bad {
		if slices.Contains(train.Overridable, strings.TrimPrefix(b, "--")) {
			hint = fmt.Sprintf("\nHINT: to change the learning rate of a resumed run (it breaks bit-exactness from that step on), use --override %s=VALUE", strings.TrimPrefix(b, "--"))
			break
		}
	}
	return usagef("--resume continues a run with its own settings; %s would change them (only %s may be given with --resume)%s",
		strings.Join(bad, ", "), strings.Join(resumeAllowed[1:], ", "), hint)
}

// resumeOptions are what a resume may change.
type resumeOptions struct {
	device    string
	math      string // non-empty: typed, replaces the run's own
	precision string // non-empty: typed, replaces the run's own (weights are float32 in every checkpoint)
	layout    string // non-empty: typed --layout, replaces the run's own (a checkpoint holds no activation)
	dataDir   string // non-empty: the data moved here
	recompute *layers.Recompute
	fuse      *bool           // typed --fuse: replaces the run's own
	graphs    train.GraphMode // how steps are launched (not recorded: no result depends on it)
	overrides []string        // --override values
}

// resumeRun continues the run in dir with the configuration it was started
// with, after locking the folder.
func resumeRun(dir string, o resumeOptions, sigs *runSignals) error {
	if st, err := os.Stat(dir); err != nil {
		return fmt.Errorf("--resume %s: not a run folder: %w", dir, err)
	} else if !st.IsDir() {
		return fmt.Errorf("--resume %s: a file, not a run folder; HINT: give the folder the run writes to: deepres train --resume %s", dir, filepath.Dir(dir))
	}
	// Before locking, which would leave run.lock in a folder that is no
	// run (a data folder, where it then reads as an unexpected file).
	found, err := train.HoldsRun(dir)
	if err != nil {
		return err
	}
	switch {
	case len(found) == 0:
		return fmt.Errorf("--resume %s: no run here (no last.safetensors, metrics.jsonl or best.safetensors); give the folder deepres train --out wrote", dir)
	case !slices.Contains(found, "last.safetensors"):
		return deadEnd(dir, found, train.RunCommand(dir))
	}
	lock, err := train.LockRun(dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	noteLeftovers(dir, lock)
	cfg, step, notes, err := train.ReadRunConfig(dir)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(os.Stderr, "deepres: %s\n", n)
	}
	cfg.Out = dir
	cfg.Graphs = o.graphs
	if o.recompute != nil {
		cfg.Recompute = *o.recompute
	}
	if o.fuse != nil && *o.fuse != cfg.Fused() {
		fmt.Fprintf(os.Stderr, "deepres: note: --fuse=%t: the run was started with --fuse=%t; float rounding differs from here on\n", *o.fuse, cfg.Fused())
	}
	if o.fuse != nil {
		cfg.Fuse = o.fuse
	}
	if o.dataDir != "" { // the data moved: same dataset, new place
		cfg.DataDir = o.dataDir
	}
	kind, err := data.ParseKind(cfg.Dataset)
	if err != nil {
		return usagef("--dataset: %v", err)
	}
	trainDS, testDS, err := loadSplits(kind, cfg.DataDir)
	if err != nil {
		return err
	}
	if cfg.Data != nil {
		now := train.IdentifyData(cfg.Dataset, cfg.DataDir, trainDS, testDS)
		d, note := cfg.Data.Compare(now)
		if d != "" {
			return fmt.Errorf("--resume %s: the run trained on %s data in %s (%d train, %d test images), but %s holds other data: %s",
				dir, cfg.Data.Kind, cfg.Data.Path, cfg.Data.TrainN, cfg.Data.TestN, cfg.DataDir, d)
		}
		if note != "" {
			fmt.Fprintf(os.Stderr, "deepres: note: %s\n", note)
		}
		cfg.Data.Path = cfg.DataDir
	}
	var valDS *data.Dataset
	if cfg.ValSplit > 0 {
		trainDS, valDS = data.SplitValidation(trainDS, cfg.ValSplit, cfg.Seed)
	}
	pairs, err := train.SplitOverrides(o.overrides)
	if err != nil {
		return usageError{err.Error()}
	}
	for _, p := range pairs {
		if err := cfg.ApplyOverride(p[0], p[1], step); err != nil {
			return usageError{err.Error()}
		}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	perEpoch := train.StepsPerEpoch(trainDS.N, cfg.BatchSize)
	if total, err := cfg.TotalSteps(perEpoch); err == nil {
		if step > total { // no run of this configuration writes such a step
			return fmt.Errorf("--resume %s: last.safetensors stands at step %d, past the run's end (step %d): it does not belong to the configuration it records (altered, or damaged)", dir, step, total)
		}
		warmup, milestones := cfg.LengthIssues(total, perEpoch)
		for _, p := range pairs {
			if issue := map[string]string{"warmup-steps": warmup, "lr-schedule": milestones}[p[0]]; issue != "" {
				return usagef("--override %s=%s: %s", p[0], p[1], issue)
			}
		}
	}
	if o.math != "" {
		cfg.Math = o.math
	}
	if cfg.Math == "" {
		cfg.Math = "tf32" // recorded before Config.Math existed: the default then
	}
	if o.precision != "" && o.precision != cfg.PrecisionOf() {
		fmt.Fprintf(os.Stderr, "deepres: --precision %s replaces the run's %s from step %d on: the weights are float32 in the checkpoint, only rounding changes (the run is no longer bit-identical to an unbroken one)\n", o.precision, cfg.PrecisionOf(), step)
	}
	if o.precision != "" {
		cfg.Precision = o.precision
	} else if o.math != "" && (cfg.Precision == "fp32" || cfg.Precision == "tf32") {
		cfg.Precision = o.math // a typed --math on a float32 run is its precision
	}
	layout, was := cfg.Layout, cfg.Layout
	if o.layout != "" {
		layout = o.layout
	}
	if was == "" {
		was = "nchw" // recorded before --layout existed
	}
	t, b, err := newTrainer(cfg, o.device, cfg.Math, layout, kind, trainDS, valDS, testDS)
	if err != nil {
		return err
	}
	defer b.Close()
	defer t.Close()
	if t.Cfg.Layout != was {
		fmt.Fprintf(os.Stderr, "deepres: --layout %s stores the activations %s from step %d on, where the run had %s: the checkpoint holds no activation, so only where they lie changes (bitwise the same on the CPU reference)\n", o.layout, t.Cfg.Layout, step, was)
	}
	if err := t.Resume(dir); err != nil {
		return err
	}
	if recs, err := readMetrics(dir); err == nil {
		if gap := metricsGap(dir, recs); gap != "" {
			fmt.Fprintf(os.Stderr, "deepres: warning: %s\n", gap)
		}
	}
	fmt.Fprintf(os.Stderr, "deepres: resuming %s at step %d of %d on %s (--precision %s, --math %s, --recompute %s, --fuse=%t, --layout %s)\n", dir, t.Position(), t.TotalSteps(), b.Name(), cfg.PrecisionOf(), cfg.Math, t.Net.Env.Recompute, t.Net.Env.Fuse, t.Cfg.Layout)
	// A finished run is not an error (a driver may resume every run of a
	// study, and a requeued job its own): exit 0, saying so, and write
	// nothing.
	if t.Position() == t.TotalSteps() {
		fmt.Fprintf(os.Stderr, "deepres: the run in %s is complete (step %d of %d): nothing to train; evaluate it with deepres eval --checkpoint %s\n",
			dir, t.Position(), t.TotalSteps(), filepath.Join(dir, "best.safetensors"))
		return nil
	}
	for _, p := range pairs {
		fmt.Fprintf(os.Stderr, "deepres: --override %s=%s from step %d on (recorded in metrics.jsonl and the checkpoint; the run is no longer bit-identical to an unbroken one)\n", p[0], p[1], step)
	}
	t.Owner = lock.Check
	return runTrainer(t, sigs)
}
