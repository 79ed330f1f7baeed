package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deepres-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "deepres")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("build deepres: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run executes deepres and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv is run with the environment env (nil: this process's).
func runEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"train", "--model", "resnet-21", "--dataset", "cifar10"}, "--model"},
		{[]string{"train", "--model", "resnet-20", "--sd", "linear"}, "--sd"},
		{[]string{"train", "--model", "resnet-20", "--lr-schedule", "weird"}, "--lr-schedule"},
		{[]string{"train", "--model", "resnet-20", "--dataset", "mnist"}, "--dataset"},
		{[]string{"train", "--model", "resnet-20", "--epochs", "2", "--steps", "3"}, "--epochs or --steps"},
		{[]string{"train", "--model", "resnet-20", "--bogus"}, "bogus"},
		{[]string{"train", "--model", "preact-resnet-110", "--shortcut", "exclusive:-6"}, "Table 1"},
		{[]string{"train", "--model", "resnet-20", "--shortcut", "constant:1"}, "--shortcut"},
		{[]string{"train", "--model", "resnet-20", "--device", "tpu", "--dataset", "folder", "--data", "nowhere"}, ""},
		{[]string{"eval"}, "--checkpoint"},
		{[]string{"init", "--model", "wrn-40-4"}, "--out"},
		{[]string{"bench", "--model", "resnet-20", "--steps", "0"}, "--steps"},
		{[]string{"bench", "--model", "resnet-20", "--cuda-graphs", "maybe"}, "--cuda-graphs"},
		{[]string{"bench", "--model", "wrn-16-2", "--dropout", "0.3", "--sd", "linear:0.5", "--cuda-graphs", "on"}, "stochastic depth with dropout is not captured"},
		{[]string{"train", "--model", "wrn-16-2", "--dropout", "0.3", "--sd", "linear:0.5", "--cuda-graphs", "on"}, "stochastic depth with dropout is not captured"},
		{[]string{"train", "--model", "resnet-20", "--cuda-graphs", "maybe"}, "--cuda-graphs"},
		{[]string{"train", "--model", "resnet-20", "--device", "cpu", "--cuda-graphs", "on"}, "the CPU cannot capture"},
		{[]string{"bench", "--model", "resnet-20", "--device", "cpu", "--cuda-graphs", "on"}, "the CPU cannot capture"},
		{[]string{"train", "--resume", "nowhere", "--device", "cpu", "--cuda-graphs", "on"}, "the CPU cannot capture"},
		{[]string{"train", "--model", "resnet-20", "--init", "w.safetensors", "--init-fan", "in"}, "--init-fan has no effect with --init"},
		{[]string{"train", "--model", "resnet-20", "--init", "w.safetensors", "--bn-scale-init", "uniform"}, "--bn-scale-init has no effect with --init"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		_, stderr, code := run(t, tc.args...)
		if tc.want == "" {
			if code == 0 {
				t.Errorf("%v: exit 0", tc.args)
			}
			continue
		}
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestModelsJSON(t *testing.T) {
	out, _, code := run(t, "models", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var rows []struct {
		Name   string
		Params int
		Depth  int
		Family string
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range rows {
		got[r.Name] = r.Params
	}
	if got["resnet-1202"] != 19421274 || got["wrn-28-10"] != 36479194 || len(rows) < 10 {
		t.Errorf("models --json: %v", got)
	}
}

func TestNoGPU(t *testing.T) {
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		t.Skip("this machine has a GPU")
	}
	// Not the NVIDIA-library simulator either, should this process have it.
	env := slices.DeleteFunc(os.Environ(), func(v string) bool { return strings.HasPrefix(v, "DEEPRES_CUDA_LIB_DIR=") })
	_, stderr, code := runEnv(t, env, "devices")
	if code != 1 || !strings.Contains(stderr, "libcuda.so.1") {
		t.Errorf("devices without a GPU: exit %d, %q", code, stderr)
	}
	_, stderr, code = runEnv(t, env, "bench", "--model", "resnet-8", "--device", "cuda", "--steps", "1")
	if code != 1 || !strings.Contains(stderr, "libcuda.so.1") {
		t.Errorf("--device cuda without a GPU: exit %d, %q", code, stderr)
	}
}

// writeFolder writes a tiny image-folder dataset: 2 classes whose images
// differ in colour.
func writeFolder(t *testing.T, root string, perClass int) {
	t.Helper()
	for _, split := range []string{"train", "test"} {
		for c, name := range []string{"dark", "light"} {
			dir := filepath.Join(root, split, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < perClass; i++ {
				img := image.NewRGBA(image.Rect(0, 0, 32, 32))
				for p := range img.Pix {
					img.Pix[p] = uint8(40 + 150*c + (p*7+i*13)%50)
				}
				img.Set(0, 0, color.RGBA{0, 0, 0, 255})
				f, err := os.Create(filepath.Join(dir, strings.Repeat("0", 3)+string(rune('a'+i))+".png"))
				if err != nil {
					t.Fatal(err)
				}
				if err := png.Encode(f, img); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
		}
	}
}

// TestTrainEvalResume trains a tiny model on the CPU, evaluates its
// checkpoint, and resumes a finished run (which has nothing left to do).
func TestTrainEvalResume(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 8)
	_, stderr, code := run(t, "train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "auto",
		"--epochs", "2", "--batch-size", "8", "--lr", "0.05", "--out", out)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "running on the CPU") && !strings.Contains(stderr, "using cuda") {
		t.Errorf("--device auto did not say which device: %s", stderr)
	}
	stdout, stderr, code := run(t, "eval", "--checkpoint", filepath.Join(out, "last.safetensors"), "--dataset", "folder", "--data", data, "--device", "cpu", "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var res struct {
		Loss, Accuracy float64
		N              int
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.N != 16 || res.Accuracy < 0 || res.Accuracy > 1 {
		t.Errorf("eval --json: %q (%v)", stdout, err)
	}
	_, stderr, code = run(t, "train", "--resume", out, "--device", "cpu", "--recompute", "unit")
	if code != 0 || !strings.Contains(stderr, "--recompute unit") {
		t.Errorf("resume of a finished run, recomputing: exit %d: %s", code, stderr)
	}
	_, stderr, code = run(t, "train", "--resume", out, "--lr", "1")
	if code != 2 || !strings.Contains(stderr, "--lr") {
		t.Errorf("resume with --lr: exit %d: %s", code, stderr)
	}
	initFile := filepath.Join(dir, "init.safetensors")
	if _, stderr, code := run(t, "init", "--model", "resnet-8", "--classes", "2", "--out", initFile); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	if _, stderr, code := run(t, "eval", "--checkpoint", initFile, "--dataset", "folder", "--data", data, "--device", "cpu"); code != 0 {
		t.Errorf("eval of an init file: exit %d: %s", code, stderr)
	}
}

func TestBenchCPU(t *testing.T) {
	stdout, stderr, code := run(t, "bench", "--model", "resnet-8", "--sd", "linear:0.5", "--device", "cpu", "--batch-size", "4", "--steps", "3", "--warmup", "1", "--json")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, stderr)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("bench --json: %q: %v", stdout, err)
	}
	if r.Model != "resnet-8" || r.Steps != 3 || r.ImagesPerSec <= 0 || r.P10MS > r.MedianMS || r.MedianMS > r.P90MS || r.PeakBytes <= 0 {
		t.Errorf("bench result %+v", r)
	}
}

// TestBenchRecompute: --recompute reaches the network (lower peak memory on
// a net deep enough for the activations to dominate, lowest for unit) and
// the report says so.
func TestBenchRecompute(t *testing.T) {
	peak := map[string]int64{}
	for _, mode := range []string{"off", "bn", "unit"} {
		args := []string{"bench", "--model", "resnet-56", "--device", "cpu", "--batch-size", "16", "--steps", "1", "--warmup", "0", "--json", "--recompute", mode}
		stdout, stderr, code := run(t, args...)
		if code != 0 {
			t.Fatalf("bench: exit %d: %s", code, stderr)
		}
		var r benchResult
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("bench --json: %q: %v", stdout, err)
		}
		if r.Recompute.String() != mode || r.Math != "fp32" {
			t.Errorf("--recompute %s: result %+v", mode, r)
		}
		peak[mode] = r.PeakBytes
	}
	if !(peak["unit"] < peak["bn"] && peak["bn"] < peak["off"] && peak["unit"] < peak["off"]*3/5) {
		t.Errorf("peak memory: %v bytes; want unit < bn < off, unit well under off", peak)
	}
	if _, stderr, code := run(t, "bench", "--model", "resnet-8", "--device", "cpu", "--recompute", "all"); code != 2 || !strings.Contains(stderr, "--recompute") {
		t.Errorf("--recompute all: exit %d: %s", code, stderr)
	}
}

// A preset gives defaults; a flag the user typed wins over it, and the
// start-up line says which values the preset set and which the user typed.
func TestPresetYieldsToTypedFlags(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 4)
	_, stderr, code := run(t, "train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu",
		"--preset", "he2016", "--steps", "2", "--batch-size", "4", "--out", filepath.Join(dir, "run"))
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, " 2 steps") {
		t.Errorf("--preset he2016 --steps 2 did not run 2 steps: %s", stderr)
	}
	for _, want := range []string{"preset he2016 set ", "--lr 0.1", "--warmup-lr 0.01", "typed, so kept over the preset: --batch-size 4 --steps 2"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("start-up line lacks %q: %s", want, stderr)
		}
	}
	if strings.Contains(stderr, "preset he2016 set --batch-size") {
		t.Errorf("the typed --batch-size is listed as the preset's: %s", stderr)
	}
	lines, err := os.ReadFile(filepath.Join(dir, "run", "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// he2016's warm-up runs the first 400 iterations at 0.01: still the preset's.
	if !strings.Contains(string(lines), `"lr":0.01`) {
		t.Errorf("preset warm-up lr not applied where the user did not type it: %s", lines)
	}
}

// --resume keeps the run's own --math unless one is typed (a run started in
// fp32 must not silently continue in tf32).
func TestResumeKeepsMath(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 4)
	if _, stderr, code := run(t, "train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu",
		"--epochs", "1", "--batch-size", "4", "--math", "fp32", "--out", out); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if _, stderr, code := run(t, "train", "--resume", out, "--device", "cpu"); code != 0 || !strings.Contains(stderr, "--math fp32") {
		t.Errorf("resume without --math: exit %d, want the run's --math fp32: %s", code, stderr)
	}
	if _, stderr, code := run(t, "train", "--resume", out, "--device", "cpu", "--math", "tf32"); code != 0 || !strings.Contains(stderr, "--math tf32") {
		t.Errorf("resume with --math tf32: exit %d: %s", code, stderr)
	}
}

// TestPrecisionFlag: --precision on train, eval and bench (issue 22):
// --math contradicting --precision is refused; a bf16 run is
// recorded as such, resumes in fp32 saying so, and its checkpoint
// evaluates in fp16; bench reports the precision it ran.
func TestPrecisionFlag(t *testing.T) {
	for _, args := range [][]string{
		{"train", "--model", "resnet-8", "--precision", "fp32", "--math", "tf32"},
		{"bench", "--model", "resnet-8", "--precision", "tf32", "--math", "fp32"},
	} {
		if _, stderr, code := run(t, args...); code != 2 || !strings.Contains(stderr, "contradicts") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2, --math contradicting --precision", args, code, stderr)
		}
	}
	if _, stderr, code := run(t, "train", "--model", "resnet-8", "--precision", "fp8"); code != 2 || !strings.Contains(stderr, "--precision") {
		t.Errorf("--precision fp8: exit %d, %q", code, stderr)
	}
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 4)
	if _, stderr, code := run(t, "train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu",
		"--epochs", "2", "--checkpoint-every", "1", "--batch-size", "4", "--precision", "bf16", "--out", out); code != 0 {
		t.Fatalf("train --precision bf16: exit %d: %s", code, stderr)
	}
	if _, stderr, code := run(t, "train", "--resume", out, "--device", "cpu"); code != 0 || !strings.Contains(stderr, "--precision bf16") {
		t.Errorf("resume without --precision: exit %d, want the run's bf16: %s", code, stderr)
	}
	ckpt := filepath.Join(out, "last.safetensors")
	stdout, stderr, code := run(t, "eval", "--checkpoint", ckpt, "--dataset", "folder", "--data", data, "--split", "train", "--device", "cpu", "--precision", "fp16", "--json")
	if code != 0 || !strings.Contains(stdout, `"accuracy"`) {
		t.Errorf("eval --precision fp16 of a bf16 checkpoint: exit %d: %s %s", code, stdout, stderr)
	}
	stdout, stderr, code = run(t, "bench", "--model", "resnet-8", "--batch-size", "2", "--steps", "1", "--warmup", "0", "--device", "cpu", "--precision", "bf16", "--json")
	if code != 0 || !strings.Contains(stdout, `"precision": "bf16"`) && !strings.Contains(stdout, `"precision":"bf16"`) {
		t.Errorf("bench --precision bf16: exit %d: %s %s", code, stdout, stderr)
	}
}

// TestBytesOnlyPrecision: --bytes-only counts the step in the storage
// type asked for: bf16 activations move fewer bytes than float32.
func TestBytesOnlyPrecision(t *testing.T) {
	count := func(p string) (int64, string) {
		out, stderr, code := run(t, "bench", "--model", "resnet-20", "--batch-size", "8", "--bytes-only", "--json", "--precision", p)
		var res struct {
			Storage      string `json:"storage"`
			BytesPerStep int64  `json:"bytes_per_step"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
			t.Fatalf("--bytes-only --precision %s: exit %d: %s %s", p, code, out, stderr)
		}
		return res.BytesPerStep, res.Storage
	}
	f32, s32 := count("fp32")
	bf16, s16 := count("bf16")
	if s32 != "float32" || s16 != "bfloat16" || !(bf16 < f32 && 2*bf16 > f32) {
		t.Errorf("bytes per step: fp32 %d (%s), bf16 %d (%s); want bf16 between half and all of fp32", f32, s32, bf16, s16)
	}
}

// TestResumeChangesPrecision: a resumed run may change --precision; it
// says so at start-up and records the new one.
func TestResumeChangesPrecision(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 4)
	if _, stderr, code := run(t, "train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu",
		"--steps", "4", "--checkpoint-every", "1", "--batch-size", "4", "--precision", "bf16", "--math", "fp32", "--out", out); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	// The run is finished: resuming it reads the checkpoint, announces the
	// change and exits 0 with nothing to train (train's own test,
	// TestHalfPrecisionRun, trains on across a change).
	_, stderr, code := run(t, "train", "--resume", out, "--device", "cpu", "--precision", "fp32")
	if code != 0 || !strings.Contains(stderr, "--precision fp32 replaces the run's bf16") || !strings.Contains(stderr, "--precision fp32, --math fp32") {
		t.Errorf("resume --precision fp32: exit %d: %s", code, stderr)
	}
	// The run's math is fp32; tf32, the default --math, typed as
	// --precision still replaces it.
	_, stderr, code = run(t, "train", "--resume", out, "--device", "cpu", "--precision", "tf32")
	if code != 0 || !strings.Contains(stderr, "--precision tf32, --math tf32") {
		t.Errorf("resume --precision tf32: exit %d: %s", code, stderr)
	}
}
