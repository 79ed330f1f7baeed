package train

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/deepres/deepres/internal/runcheck"
	"github.com/deepres/deepres/internal/synth"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
)

// TestNHWCTrainsBitwiseNCHW trains the same runs with channels-last
// activations and with NCHW ones on the CPU reference and requires the
// final weights, BN statistics and momentum to be bitwise equal: cpuref
// computes every op in logical order whatever the layout
// (cpuref/layout.go), so the layout may move elements but never change a
// value. The cases cover original and pre-activation units, half storage,
// fused batch norm, option-A shortcuts, stochastic depth, dropout, RoR and
// recomputation (shared buffers). The layout is recorded in the
// checkpoint and the metrics header.
func TestNHWCTrainsBitwiseNCHW(t *testing.T) {
	trainDS, testDS := synth.Dataset(48, 1), synth.Dataset(16, 2)
	fuse := true
	for _, tc := range []struct {
		model     string
		precision string
		fuse      bool
		recompute layers.Recompute
		sd        bool
	}{
		{"resnet-8", "fp32", false, layers.StoreAll, false},
		{"preact-resnet-8", "bf16", true, layers.StoreAll, false},
		{"resnet-8", "fp16", true, layers.RecomputeUnit, false},
		{"wrn-10-2", "fp32", false, layers.RecomputeBN, true},
	} {
		name := fmt.Sprintf("%s_%s_fuse%t_%v", tc.model, tc.precision, tc.fuse, tc.recompute)
		t.Run(name, func(t *testing.T) {
			dirs := map[string]string{}
			for _, layout := range []string{"nchw", "nhwc"} {
				dirs[layout] = t.TempDir()
				cfg := testConfig(t, tc.model, dirs[layout])
				if tc.sd {
					cfg.Model.SD, cfg.Model.SDPL, cfg.Model.Dropout, cfg.Model.RoR = models.SDLinear, 0.5, 0.3, 3
				}
				cfg.Precision, cfg.Layout, cfg.Recompute = tc.precision, layout, tc.recompute
				if tc.fuse {
					cfg.Fuse = &fuse
				}
				tr := newTrainer(t, cfg, trainDS, testDS)
				want, _ := LayoutOf(layout)
				if tr.Net.Env.Layout != want || ops.LayoutOf(tr.x) != want {
					t.Fatalf("--layout %s: Env.Layout %v, input %v", layout, tr.Net.Env.Layout, ops.LayoutOf(tr.x))
				}
				if err := tr.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
				if got, _, _, err := ReadRunConfig(dirs[layout]); err != nil || got.Layout != layout {
					t.Errorf("checkpoint records layout %q (%v), want %s", got.Layout, err, layout)
				}
				if hdr := readHeader(t, dirs[layout]); hdr.Run.Layout != layout {
					t.Errorf("metrics header records layout %q, want %s", hdr.Run.Layout, layout)
				}
			}
			runcheck.SameCheckpoints(t, dirs["nchw"], dirs["nhwc"], "nchw", "nhwc")
		})
	}
}

// TestLayoutChangesOnResume interrupts an NHWC run and resumes it in NCHW:
// the checkpoint holds no activation, so the layout may change on resume,
// and on the CPU reference the result is bitwise the uninterrupted run's.
func TestLayoutChangesOnResume(t *testing.T) {
	trainDS, testDS := synth.Dataset(48, 1), synth.Dataset(16, 2)
	dirA, dirB := t.TempDir(), t.TempDir()
	cfgA := testConfig(t, "resnet-8", dirA)
	cfgA.Layout, cfgA.Precision = "nhwc", "bf16"
	if err := newTrainer(t, cfgA, trainDS, testDS).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfgB := cfgA
	cfgB.Out = dirB
	b := newTrainer(t, cfgB, trainDS, testDS)
	ctx, cancel := context.WithCancel(context.Background())
	b.Progress = func(p Progress) {
		if p.Step == 4 {
			cancel()
		}
	}
	if err := b.Run(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run returned %v, want ErrInterrupted", err)
	}
	cfgC := cfgB
	cfgC.Layout = "nchw"
	c := newTrainer(t, cfgC, trainDS, testDS)
	if err := c.Resume(dirB); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	runcheck.SameCheckpoints(t, dirA, dirB, "uninterrupted nhwc", "nhwc resumed in nchw")
	if cfg, _, _, err := ReadRunConfig(dirB); err != nil || cfg.Layout != "nchw" {
		t.Errorf("after resuming in nchw the checkpoint records %q (%v), want nchw", cfg.Layout, err)
	}
}

func TestLayoutOf(t *testing.T) {
	for s, want := range map[string]ops.Layout{"": ops.NCHW, "nchw": ops.NCHW, "nhwc": ops.NHWC} {
		if got, err := LayoutOf(s); err != nil || got != want {
			t.Errorf("LayoutOf(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"auto", "NHWC", "chw"} {
		if _, err := LayoutOf(s); err == nil {
			t.Errorf("LayoutOf(%q) accepted", s)
		}
	}
	c := testConfig(t, "resnet-8", t.TempDir())
	if err := c.Validate(); err != nil {
		t.Fatalf("the test's config is invalid before its layout is: %v", err)
	}
	c.Layout = "auto"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "layout") {
		t.Errorf("Validate with layout auto: %v, want a layout error", err)
	}
}
