package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/train"
)

func runEval(args []string) error {
	fs := newFlags("eval", "--checkpoint FILE --dataset D --data DIR [flags]")
	ckpt := fs.String("checkpoint", "", "checkpoint to evaluate (last.safetensors, best.safetensors or deepres init output)")
	dataset := fs.String("dataset", "cifar10", "dataset: cifar10, cifar100, svhn or folder")
	dir := fs.String("data", "data", "dataset folder (or archive)")
	split := fs.String("split", "test", "test, val (the --val-split of training, from the checkpoint) or train")
	device := fs.String("device", "auto", "auto, cpu, cuda or cuda:N")
	math := fs.String("math", "tf32", "GPU math: tf32 or fp32")
	precision := fs.String("precision", "", precisionUsage+" (default: --math's; any precision evaluates any checkpoint: its weights are float32)")
	layout := fs.String("layout", "auto", layoutUsage+"; any layout evaluates any checkpoint")
	batch := fs.Int("batch-size", 256, "evaluation batch size")
	asJSON := fs.Bool("json", false, `print {"loss":…, "accuracy":…, "n":…}`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *ckpt == "" {
		return usagef("--checkpoint is required")
	}
	if *batch < 1 {
		return usagef("--batch-size must be >= 1")
	}
	mathMode, prec, err := resolvePrecision(fs, *precision, *math)
	if err != nil {
		return err
	}
	if err := checkLayoutFlag(*layout); err != nil {
		return err
	}
	kind, err := data.ParseKind(*dataset)
	if err != nil {
		return usagef("--dataset: %v", err)
	}
	f, notes, err := train.ReadCheckpoint(*ckpt)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(os.Stderr, "deepres: %s\n", n)
	}
	mc, norm, err := train.ModelFromMetadata(f, *ckpt)
	if err != nil {
		return err
	}
	tc, err := train.StoredConfig(f, *ckpt)
	if err != nil {
		return err
	}
	var ds *data.Dataset
	switch *split {
	case "test":
		if ds, err = data.Load(kind, *dir, data.Test); err != nil {
			return err
		}
	case "train", "val":
		if ds, err = data.Load(kind, *dir, data.Train); err != nil {
			return err
		}
		held := tc != nil && tc.ValSplit > 0
		if *split == "val" && !held {
			return fmt.Errorf("%s was not trained with --val-split, so it has no validation split", *ckpt)
		}
		if held {
			// The run's split is a function of its training data, so
			// carving it out of other data gives a split that is not
			// the run's: refuse, as --resume does.
			if err := sameTrainingData(*ckpt, tc, *dataset, *dir, ds); err != nil {
				return err
			}
			if tc.ValSplit >= ds.N {
				return fmt.Errorf("%s held out %d validation images, but %s has only %d training images", *ckpt, tc.ValSplit, *dir, ds.N)
			}
			trainPart, valPart := data.SplitValidation(ds, tc.ValSplit, tc.Seed)
			ds = map[string]*data.Dataset{"train": trainPart, "val": valPart}[*split]
		}
	default:
		return usagef("--split: want test, val or train, got %q", *split)
	}
	if len(ds.Classes) != mc.Classes {
		return fmt.Errorf("%s has %d classes, the checkpoint's model %d", ds.Name, len(ds.Classes), mc.Classes)
	}
	// A model's outputs mean the classes it was trained on, in that order:
	// an accuracy on data whose classes are others is meaningless. Exit 1,
	// as for --resume on other data: the command line is well formed, the
	// data it names is not the model's.
	if tc != nil && tc.Data != nil && !slices.Equal(tc.Data.Classes, ds.Classes) {
		return fmt.Errorf("%s was trained on the classes %v, but %s in %s has %v; HINT: evaluate it on data with the run's classes, in that order",
			*ckpt, tc.Data.Classes, *split, *dir, ds.Classes)
	}
	if norm.Mean == ([3]float32{}) && norm.Std == ([3]float32{}) && norm.MeanImage == nil { // a deepres init file: no training data seen yet
		norm = data.NormalizationFor(kind, ds)
	}
	for c, sd := range norm.Std {
		if !(sd > 0) || !finite(float64(sd)) || !finite(float64(norm.Mean[c])) {
			return fmt.Errorf("%s: bad normalisation in the metadata: channel %d has mean %v and std %v (a std must be positive and finite)", *ckpt, c, norm.Mean[c], sd)
		}
	}
	b, err := openDevice(*device, mathMode)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := checkPrecision(b, prec); err != nil {
		return err
	}
	l, note, err := resolveLayout(b, *layout, prec)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(os.Stderr, "deepres: %s\n", note)
	}
	net, err := models.New(mc, b)
	if err != nil {
		return err
	}
	defer net.Close()
	net.Env.Act, _ = train.StorageOf(prec) // checkPrecision checked it
	net.Env.Layout = l
	// In evaluation mode the batch size changes no result: never set up
	// more than the split has.
	*batch = min(*batch, max(ds.N, 1))
	if err := net.Setup(*batch); err != nil {
		return err
	}
	if err := train.LoadStateDict(net, f.Tensors, *ckpt); err != nil {
		return err
	}
	loss, acc, err := train.Evaluate(net, ds, norm, *batch)
	if err != nil {
		return err
	}
	if *asJSON {
		// JSON has no NaN or Inf: a diverged model's loss is written as a
		// string ("NaN", "+Inf"), as in the checkpoints' metadata.
		return printJSON(map[string]any{"loss": jsonNumber(loss), "accuracy": jsonNumber(acc), "n": ds.N})
	}
	fmt.Printf("%s on %s %s: loss %.4f  accuracy %.2f%%  error %.2f%%  (%d images)\n", mc.Name, *dataset, *split, loss, 100*acc, 100*(1-acc), ds.N)
	return nil
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	return enc.Encode(v)
}

func runInit(args []string) error {
	fs := newFlags("init", "--model M [--ror R] [--classes K] [--seed S] --out FILE")
	var mf modelFlags
	mf.add(fs)
	seed := fs.Uint64("seed", 1, "seed of the weights")
	out := fs.String("out", "", "safetensors file to write (an existing file only with --force)")
	force := fs.Bool("force", false, "replace an existing --out file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if err := checkFiniteFlags(fs); err != nil {
		return err
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return usagef("%s exists; init will not replace it (it may hold trained weights) unless you add --force", *out)
	}
	mc, err := mf.config()
	if err != nil {
		return err
	}
	b, err := openDevice("cpu", "fp32")
	if err != nil {
		return err
	}
	net, err := models.New(mc, b)
	if err != nil {
		return err
	}
	if err := net.Setup(1); err != nil {
		return err
	}
	net.Init(*seed)
	tensors, err := train.StateDict(net)
	if err != nil {
		return err
	}
	meta, err := train.Metadata(mc, data.Normalization{})
	if err != nil {
		return err
	}
	if err := checkpoint.Write(*out, tensors, meta); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "deepres: wrote %s (%s, %d parameters)\n", *out, mc.Name, net.Params.Count())
	return nil
}

// jsonNumber is v for encoding/json, or its strconv spelling when it is
// not finite (which encoding/json refuses).
func jsonNumber(v float64) any {
	if finite(v) {
		return v
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// sameTrainingData refuses a training split that is not the one the run
// recorded (train.DataIdentity), the only data from which its validation
// split can be carved again.
func sameTrainingData(ckpt string, tc *train.Config, dataset, dir string, ds *data.Dataset) error {
	if tc.Data == nil {
		fmt.Fprintf(os.Stderr, "deepres: note: %s records no identity of its data: that %s is the run's training data is not verified\n", ckpt, dir)
		return nil
	}
	rec := *tc.Data
	now := train.IdentifyData(dataset, dir, ds, nil)
	rec.TestN, rec.TestSHA256 = 0, "" // only the training split is at hand
	if rec.TrainSHA256 == "" {        // format deepres-1: its fingerprint covers the test split too
		rec.Fingerprint, now.Fingerprint = "", ""
		fmt.Fprintf(os.Stderr, "deepres: note: %s records only a sample of its data: that %s holds the run's training images is checked by kind, classes and count only\n", ckpt, dir)
	}
	if d, _ := rec.Compare(now); d != "" {
		return fmt.Errorf("%s: the run carved its validation split out of %s data in %s (%d training images), but %s holds other data (%s): the split would not be the run's",
			ckpt, rec.Kind, rec.Path, rec.TrainN, dir, d)
	}
	return nil
}
