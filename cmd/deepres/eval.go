package main

import (
	"encoding/json"
	"fmt"
	"os"
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
	kind, err := data.ParseKind(*dataset)
	if err != nil {
		return usagef("--dataset: %v", err)
	}
	f, err := checkpoint.Read(*ckpt)
	if err != nil {
		return err
	}
	mc, norm, err := train.ModelFromMetadata(f, *ckpt)
	if err != nil {
		return err
	}
	var ds *data.Dataset
	switch *split {
	case "test":
		ds, err = data.Load(kind, *dir, data.Test)
	case "train", "val":
		ds, err = data.Load(kind, *dir, data.Train)
		var tc train.Config
		held := json.Unmarshal([]byte(f.Meta["train"]), &tc) == nil && tc.ValSplit > 0
		switch {
		case err != nil:
		case *split == "val" && !held:
			return fmt.Errorf("%s was not trained with --val-split, so it has no validation split", *ckpt)
		case held && tc.ValSplit >= ds.N:
			return fmt.Errorf("%s held out %d validation images, but %s has only %d training images", *ckpt, tc.ValSplit, *dir, ds.N)
		case *split == "val":
			_, ds = data.SplitValidation(ds, tc.ValSplit, tc.Seed)
		case held: // the run's training images are those it did not hold out
			ds, _ = data.SplitValidation(ds, tc.ValSplit, tc.Seed)
		}
	default:
		return usagef("--split: want test, val or train, got %q", *split)
	}
	if err != nil {
		return err
	}
	if len(ds.Classes) != mc.Classes {
		return fmt.Errorf("%s has %d classes, the checkpoint's model %d", ds.Name, len(ds.Classes), mc.Classes)
	}
	if norm.Mean == ([3]float32{}) && norm.Std == ([3]float32{}) && norm.MeanImage == nil { // a deepres init file: no training data seen yet
		norm = data.NormalizationFor(kind, ds)
	}
	for c, sd := range norm.Std {
		if !(sd > 0) || !finite(float64(sd)) || !finite(float64(norm.Mean[c])) {
			return fmt.Errorf("%s: bad normalisation in the metadata: channel %d has mean %v and std %v (a std must be positive and finite)", *ckpt, c, norm.Mean[c], sd)
		}
	}
	b, err := openDevice(*device, *math)
	if err != nil {
		return err
	}
	defer b.Close()
	net, err := models.New(mc, b)
	if err != nil {
		return err
	}
	defer net.Close()
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
