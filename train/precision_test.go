package train

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepres/deepres/internal/runcheck"
	"github.com/deepres/deepres/internal/synth"
	"github.com/deepres/deepres/ops"
)

// TestHalfPrecisionRun trains resnet-8 with bfloat16 activations: the
// network stores activations in bf16 and keeps parameters and momentum
// float32; the precision is recorded in the checkpoint and the metrics
// header; an interrupted bf16 run resumes bitwise; the checkpoint's
// float32 weights resume in another precision (fp16 here); and the bf16
// run is not the float32 run (the storage type reached the ops).
func TestHalfPrecisionRun(t *testing.T) {
	trainDS, testDS := synth.Dataset(48, 1), synth.Dataset(16, 2)
	dirA, dirB, dirF := t.TempDir(), t.TempDir(), t.TempDir()
	cfgA := testConfig(t, "resnet-8", dirA)
	cfgA.Precision = "bf16"
	a := newTrainer(t, cfgA, trainDS, testDS)
	if a.Net.Env.Act != ops.BFloat16 {
		t.Fatalf("Env.Act = %v, want bfloat16", a.Net.Env.Act)
	}
	if d := ops.DTypeOf(a.Net.Params.Values()); d != ops.Float32 {
		t.Errorf("parameters stored as %v, want float32 (master weights)", d)
	}
	if d := ops.DTypeOf(a.Net.Momentum()); d != ops.Float32 {
		t.Errorf("momentum stored as %v, want float32", d)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg, _, _, err := ReadRunConfig(dirA)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Precision != "bf16" {
		t.Errorf("checkpoint records precision %q, want bf16", cfg.Precision)
	}
	if hdr := readHeader(t, dirA); hdr.Run.Precision != "bf16" {
		t.Errorf("metrics header records precision %q, want bf16", hdr.Run.Precision)
	}

	// Interrupted and resumed in bf16: bitwise the uninterrupted run.
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
	c := newTrainer(t, cfgB, trainDS, testDS)
	if err := c.Resume(dirB); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	runcheck.SameCheckpoints(t, dirA, dirB, "uninterrupted bf16", "resumed bf16")

	// The same run in float32 ends elsewhere: bf16 storage changed results.
	cfgF := cfgA
	cfgF.Out, cfgF.Precision = dirF, "fp32"
	f := newTrainer(t, cfgF, trainDS, testDS)
	if err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	wa, wf := hostValues(t, a), hostValues(t, f)
	same := true
	for i := range wa {
		same = same && wa[i] == wf[i]
	}
	if same {
		t.Error("the bf16 run's weights equal the float32 run's: half storage had no effect")
	}

	// A bf16 checkpoint resumes in fp16: its weights are float32.
	cfgH := cfgB
	cfgH.Precision = "fp16"
	h := newTrainer(t, cfgH, trainDS, testDS)
	if err := h.Resume(dirB); err != nil {
		t.Fatalf("resume a bf16 checkpoint in fp16: %v", err)
	}
	if h.Net.Env.Act != ops.Float16 {
		t.Errorf("resumed with Env.Act %v, want float16", h.Net.Env.Act)
	}
	if wh := hostValues(t, h); len(wh) != len(wa) || wh[0] != wa[0] || wh[len(wh)-1] != wa[len(wa)-1] {
		t.Error("resuming in fp16 did not load the bf16 run's float32 weights unchanged")
	}
	// Rewind to the interrupted checkpoint's step and train on in fp16.
	cfgI := cfgB
	cfgI.Out = t.TempDir()
	i := newTrainer(t, cfgI, trainDS, testDS)
	ctx, cancel = context.WithCancel(context.Background())
	i.Progress = func(p Progress) {
		if p.Step == 4 {
			cancel()
		}
	}
	if err := i.Run(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run returned %v, want ErrInterrupted", err)
	}
	cfgI.Precision = "fp16"
	j := newTrainer(t, cfgI, trainDS, testDS)
	if err := j.Resume(cfgI.Out); err != nil {
		t.Fatal(err)
	}
	if err := j.Run(context.Background()); err != nil {
		t.Fatalf("train on in fp16 from a bf16 checkpoint: %v", err)
	}
	if cfg, _, _, err := ReadRunConfig(cfgI.Out); err != nil || cfg.Precision != "fp16" {
		t.Errorf("after resuming in fp16 the checkpoint records %q (%v), want fp16", cfg.Precision, err)
	}
}

func hostValues(t *testing.T, tr *Trainer) []float32 {
	t.Helper()
	v := tr.Net.Params.Values()
	h := make([]float32, v.Shape().Len())
	if err := tr.b.CopyOut(h, v); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestStorageOf(t *testing.T) {
	for p, want := range map[string]ops.DType{"": ops.Float32, "fp32": ops.Float32, "tf32": ops.Float32, "bf16": ops.BFloat16, "fp16": ops.Float16} {
		if got, err := StorageOf(p); err != nil || got != want {
			t.Errorf("StorageOf(%q) = %v, %v; want %v", p, got, err, want)
		}
	}
	if _, err := StorageOf("fp8"); err == nil {
		t.Error("StorageOf(fp8) accepted")
	}
	c := Default()
	c.Precision = "half"
	if c.Validate() == nil {
		t.Error("Validate accepted precision half")
	}
}

func readHeader(t *testing.T, dir string) RunHeader {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	var hdr RunHeader
	if err := json.Unmarshal([]byte(line), &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr
}

// TestFloat16LossScaleResume: an fp16 run scales its loss (models.
// LossScale), records the scale and growth tracker in its checkpoints, and
// an interrupted run resumes with them and ends bitwise where the
// uninterrupted one does. The growth interval is cut to 2 steps so that
// the scale moves within the test.
func TestFloat16LossScaleResume(t *testing.T) {
	trainDS, testDS := synth.Dataset(48, 1), synth.Dataset(16, 2)
	dirA, dirB := t.TempDir(), t.TempDir()
	cfgA := testConfig(t, "resnet-8", dirA)
	cfgA.Precision = "fp16"
	fast := func(tr *Trainer) *Trainer {
		if tr.Net.LossScale == nil {
			t.Fatal("an fp16 network has no loss scale")
		}
		tr.Net.LossScale.P.GrowthInterval = 2
		return tr
	}
	a := fast(newTrainer(t, cfgA, trainDS, testDS))
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	stA := readLossScale(t, dirA)
	t.Logf("loss scale after the run: %+v", stA)
	if stA.Scale == ops.DefaultGradScaler.InitScale && stA.GrowthTracker == 0 {
		t.Errorf("loss scale after 6 steps with growth every 2: %+v, unmoved", stA)
	}
	cfgB := cfgA
	cfgB.Out = dirB
	b := fast(newTrainer(t, cfgB, trainDS, testDS))
	ctx, cancel := context.WithCancel(context.Background())
	b.Progress = func(p Progress) {
		if p.Step == 3 {
			cancel()
		}
	}
	if err := b.Run(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run returned %v, want ErrInterrupted", err)
	}
	saved := readLossScale(t, dirB)
	t.Logf("loss scale at the interruption: %+v", saved)
	c := fast(newTrainer(t, cfgB, trainDS, testDS))
	if err := c.Resume(dirB); err != nil {
		t.Fatal(err)
	}
	v := make([]float32, 2)
	if err := c.b.CopyOut(v[:1], c.Net.LossScale.Scale); err != nil {
		t.Fatal(err)
	}
	if err := c.b.CopyOut(v[1:], c.Net.LossScale.Tracker); err != nil {
		t.Fatal(err)
	}
	if v[0] != saved.Scale || int(v[1]) != saved.GrowthTracker {
		t.Errorf("resumed with scale %g tracker %g, the checkpoint holds %+v", v[0], v[1], saved)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	runcheck.SameCheckpoints(t, dirA, dirB, "uninterrupted fp16", "resumed fp16")
	if stB := readLossScale(t, dirB); stB != stA {
		t.Errorf("final loss scale: uninterrupted %+v, resumed %+v", stA, stB)
	}
}

func readLossScale(t *testing.T, dir string) lossScaleState {
	t.Helper()
	f, _, err := ReadCheckpoint(filepath.Join(dir, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var st lossScaleState
	if err := json.Unmarshal([]byte(f.Meta["loss_scale"]), &st); err != nil {
		t.Fatalf("loss_scale %q: %v", f.Meta["loss_scale"], err)
	}
	return st
}

// TestCapturedFloat16IsBitwiseEager: fp16 training with loss scaling,
// eager on cpuref and captured on internal/replay, ends bitwise equal,
// loss scale included. The scale starts at 2^26, where the float16
// gradients overflow (an injected overflow): the first steps are skipped
// and halve it, on the device, inside the captured step as in the eager
// one.
func TestCapturedFloat16IsBitwiseEager(t *testing.T) {
	eagerDir, graphDir := eagerAndCaptured(t, "resnet-8", func(cfg *Config) {
		cfg.Epochs, cfg.Precision = 3, "fp16"
	}, func(tr *Trainer, b ops.Backend) {
		tr.Net.LossScale.P.GrowthInterval = 2
		b.Fill(tr.Net.LossScale.Scale, 1<<26)
	})
	se, sg := readLossScale(t, eagerDir), readLossScale(t, graphDir)
	t.Logf("final loss scale: eager %+v, captured %+v", se, sg)
	if se != sg {
		t.Errorf("final loss scale: eager %+v, captured %+v", se, sg)
	}
	// 9 steps from 2^26 with growth every 2 clean steps: without a skip
	// the scale would end at 2^30 or above.
	if se.Scale >= 1<<30 {
		t.Errorf("final scale %g: no step overflowed", se.Scale)
	}
}
