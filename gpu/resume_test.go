package gpu_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/internal/synth"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/train"
)

// TestResumeIsExactOnDevice is train.TestResumeIsExact on the GPU: a run
// interrupted mid-epoch and resumed from its checkpoint in a new trainer
// must end with bitwise the weights, BN statistics and momentum of an
// uninterrupted run — with shuffling, augmentation, stochastic depth,
// dropout, RoR and warm-up in play, and the resumed part recomputing.
func TestResumeIsExactOnDevice(t *testing.T) {
	g := openFP32(t)
	trainDS, testDS := synth.Dataset(80, 1), synth.Dataset(20, 2)
	for _, tc := range []struct {
		name  string
		model string
		set   func(*models.Config)
	}{
		{"resnet-8", "resnet-8", func(*models.Config) {}},
		{"wrn-10-2/sd/dropout/ror3", "wrn-10-2", func(c *models.Config) {
			c.SD, c.SDPL, c.Dropout, c.RoR = models.SDLinear, 0.5, 0.3, 3
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc, err := models.Parse(tc.model)
			if err != nil {
				t.Fatal(err)
			}
			tc.set(&mc)
			cfgA := train.Default()
			cfgA.Model, cfgA.BatchSize, cfgA.Epochs, cfgA.Out, cfgA.Workers = mc, 16, 2, t.TempDir(), 2
			cfgA.Schedule = train.Schedule{Kind: "step", Fractions: []float64{0.5}}
			cfgA.WarmupSteps, cfgA.Nesterov, cfgA.Recompute = 2, true, layers.StoreAll
			norm := data.ComputeNormalization(trainDS)
			newTrainer := func(cfg train.Config) *train.Trainer {
				tr, err := train.New(cfg, g, trainDS, nil, testDS, norm)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(tr.Close)
				return tr
			}
			if err := newTrainer(cfgA).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			cfgB := cfgA
			cfgB.Out = t.TempDir()
			b := newTrainer(cfgB)
			ctx, cancel := context.WithCancel(context.Background())
			b.Progress = func(p train.Progress) {
				if p.Step == 7 { // epoch 2 of 5-batch epochs, mid-epoch
					cancel()
				}
			}
			if err := b.Run(ctx); !errors.Is(err, train.ErrInterrupted) {
				t.Fatalf("interrupted run returned %v, want ErrInterrupted", err)
			}
			cfgC := cfgB
			cfgC.Recompute = layers.RecomputeUnit
			c := newTrainer(cfgC)
			if err := c.Resume(cfgB.Out); err != nil {
				t.Fatal(err)
			}
			if c.Position() != 7 {
				t.Fatalf("resumed at step %d, want 7", c.Position())
			}
			if err := c.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			sameCheckpoints(t, cfgA.Out, cfgB.Out, "uninterrupted", "resumed")
		})
	}
}

// sameCheckpoints requires the last.safetensors of run folders a and b
// (named as the runs they hold) to be bitwise equal, tensor by tensor.
func sameCheckpoints(t *testing.T, a, b, nameA, nameB string) {
	t.Helper()
	fa, err := checkpoint.Read(filepath.Join(a, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	fb, err := checkpoint.Read(filepath.Join(b, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fa.Tensors) != len(fb.Tensors) {
		t.Fatalf("%d tensors in the %s run's checkpoint, %d in the %s run's", len(fa.Tensors), nameA, len(fb.Tensors), nameB)
	}
	bad := 0
	for name, ta := range fa.Tensors {
		tb, ok := fb.Tensors[name]
		if !ok {
			t.Fatalf("%s is missing from the %s run's checkpoint", name, nameB)
		}
		va, vb := ta.Data().([]float32), tb.Data().([]float32)
		for i := range va {
			if va[i] != vb[i] {
				if bad < 5 {
					t.Errorf("%s[%d]: %s %v, %s %v", name, i, nameA, va[i], nameB, vb[i])
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d values differ between the %s and the %s run", bad, nameA, nameB)
	}
}
