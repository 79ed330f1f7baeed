package gpu_test

import (
	"context"
	"errors"
	"testing"

	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/internal/runcheck"
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
			runcheck.SameCheckpoints(t, cfgA.Out, cfgB.Out, "uninterrupted", "resumed")
		})
	}
}
