package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/train"
)

// writeCIFAR writes a CIFAR-10 binary release of random images: perFile
// records in each of the five training files and in the test file.
func writeCIFAR(t *testing.T, dir string, perFile int, seed uint64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	files := []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}
	for _, f := range files {
		b := make([]byte, perFile*3073)
		for i := range perFile {
			rec := b[i*3073 : (i+1)*3073]
			rec[0] = byte(i % 10)
			for j := 1; j < len(rec); j++ {
				rec[j] = byte(r.IntN(256))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// meta reads a checkpoint's metadata.
func meta(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := checkpoint.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return f.Meta
}

// metricsLines returns metrics.jsonl's epoch lines, each checked to be JSON,
// after checking that the first line, and only it, is the run's header.
func metricsLines(t *testing.T, dir string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("metrics.jsonl line %q: %v", l, err)
		}
		if _, header := m["run"]; header != (i == 0) {
			t.Fatalf("metrics.jsonl line %d: the run's header must be the first line and only it: %q", i+1, l)
		}
		if i > 0 {
			out = append(out, m)
		}
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tiny are the flags of a tiny CPU run on a folder dataset of 16 images
// (2 steps an epoch at batch 8).
func tiny(data, out string, more ...string) []string {
	return append([]string{"train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu",
		"--batch-size", "8", "--out", out}, more...)
}

// A diverging run writes nothing over its checkpoints, says what exists,
// exits non-zero, and can be resumed with a lower rate through --override.
func TestDivergenceKeepsGoodCheckpoints(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 8)

	// Diverges at once: nothing to keep, and the message says so.
	fresh := filepath.Join(dir, "fresh")
	_, stderr, code := run(t, tiny(data, fresh, "--steps", "1", "--lr", "1e6")...)
	if code == 0 || !strings.Contains(stderr, "diverged") || !strings.Contains(stderr, "no checkpoint was written") {
		t.Errorf("--lr 1e6 --steps 1: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"last.safetensors", "best.safetensors"} {
		if exists(filepath.Join(fresh, f)) {
			t.Errorf("--lr 1e6 --steps 1 wrote %s", f)
		}
	}

	// Epoch 1 at the warm-up rate is good; epoch 2 at 1e6 diverges.
	out := filepath.Join(dir, "run")
	_, stderr, code = run(t, tiny(data, out, "--epochs", "3", "--lr", "1e6", "--warmup-steps", "2", "--warmup-lr", "0.01")...)
	if code != 1 || !strings.Contains(stderr, "holds step 2") || !strings.Contains(stderr, "--override lr=") {
		t.Fatalf("divergence in epoch 2: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"last.safetensors", "best.safetensors"} {
		if m := meta(t, filepath.Join(out, f)); m["step"] != "2" {
			t.Errorf("%s is at step %s after the divergence; want the good step 2", f, m["step"])
		}
	}
	if n := len(metricsLines(t, out)); n != 1 {
		t.Errorf("metrics.jsonl has %d lines; want the good epoch's only", n)
	}

	// Resume with a sane rate: recorded in the metrics and the checkpoint.
	_, stderr, code = run(t, "train", "--resume", out, "--override", "lr=0.01")
	if code != 0 || !strings.Contains(stderr, "--override lr=0.01 from step 2") {
		t.Fatalf("resume --override lr=0.01: exit %d: %s", code, stderr)
	}
	lines := metricsLines(t, out)
	if len(lines) != 3 || lines[1]["overrides"] == nil || lines[2]["overrides"] != nil {
		t.Errorf("metrics after the override: %v", lines)
	}
	var cfg train.Config
	if err := json.Unmarshal([]byte(meta(t, filepath.Join(out, "last.safetensors"))["train"]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.LR != 0.01 || len(cfg.Overrides) != 1 || cfg.Overrides[0] != (train.Override{Step: 2, Flag: "lr", Value: "0.01"}) {
		t.Errorf("checkpoint config after the override: lr %g, overrides %+v", cfg.LR, cfg.Overrides)
	}
	for _, bad := range [][]string{{"--override", "lr=NaN"}, {"--override", "wd=0"}, {"--override", "lr-schedule=multistep:5,3"}, {"--override", "warmup-steps=6"}, {"--override", "lr-schedule=multistep:2,9"}} {
		if _, stderr, code := run(t, append([]string{"train", "--resume", out}, bad...)...); code != 2 || !strings.Contains(stderr, "--override") {
			t.Errorf("resume %v: exit %d: %s", bad, code, stderr)
		}
	}
	if _, stderr, code := run(t, tiny(data, filepath.Join(dir, "x"), "--override", "lr=1")...); code != 2 || !strings.Contains(stderr, "--resume") {
		t.Errorf("--override without --resume: exit %d: %s", code, stderr)
	}
}

// SIGINT in the first epoch (best error still +Inf) leaves a checkpoint
// that resumes.
func TestInterruptInFirstEpochResumes(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeCIFAR(t, data, 200, 1) // 1000 training images: 1000 steps at batch 1
	cmd := exec.Command(binary, "train", "--model", "resnet-8", "--dataset", "cifar10", "--data", data, "--device", "cpu",
		"--batch-size", "1", "--epochs", "1", "--out", out)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() { // the start-up line comes just before training starts
		if strings.HasPrefix(sc.Text(), "deepres: resnet-8") {
			time.Sleep(300 * time.Millisecond)
			cmd.Process.Signal(os.Interrupt)
			break
		}
	}
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	cmd.Wait()
	if !strings.Contains(rest.String(), "--resume") {
		t.Fatalf("interrupt: %s", rest.String())
	}
	if m := meta(t, filepath.Join(out, "last.safetensors")); m["epoch"] != "0" || !strings.Contains(m["position"], `"Best":"+Inf"`) {
		t.Fatalf("the interrupt did not fall in the first epoch: %v", m["position"])
	}
	_, serr, code := run(t, "train", "--resume", out)
	if code != 0 || !strings.Contains(serr, "resuming") {
		t.Errorf("resume after an interrupt in epoch 1: exit %d: %s", code, serr)
	}
}

// A run folder is never replaced or shared by accident.
func TestRunFolderProtection(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 8)
	if _, stderr, code := run(t, tiny(data, out, "--epochs", "1")...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	before, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	lastBefore, _ := os.ReadFile(filepath.Join(out, "last.safetensors"))
	_, stderr, code := run(t, tiny(data, out, "--epochs", "1", "--seed", "2")...)
	if code != 2 || !strings.Contains(stderr, "holds a run") || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("train into a finished run: exit %d: %s", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	lastAfter, _ := os.ReadFile(filepath.Join(out, "last.safetensors"))
	if string(before) != string(after) || string(lastBefore) != string(lastAfter) {
		t.Errorf("a refused run changed the folder's metrics or checkpoint")
	}
	if _, stderr, code := run(t, tiny(data, out, "--epochs", "1", "--seed", "2", "--overwrite")...); code != 0 {
		t.Fatalf("--overwrite: exit %d: %s", code, stderr)
	}
	if n := len(metricsLines(t, out)); n != 1 {
		t.Errorf("--overwrite left %d metrics lines; want the new run's 1", n)
	}

	// Another process holds the folder: the message names it.
	busy := filepath.Join(dir, "busy")
	os.MkdirAll(busy, 0o755)
	f, err := os.OpenFile(filepath.Join(busy, train.LockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	_, stderr, code = run(t, tiny(data, busy, "--epochs", "1")...)
	if code == 0 || !strings.Contains(stderr, fmt.Sprintf("in use by process %d", os.Getpid())) {
		t.Errorf("train into a locked folder: exit %d: %s", code, stderr)
	}
	if exists(filepath.Join(busy, "metrics.jsonl")) {
		t.Errorf("a locked-out run wrote metrics")
	}
	if _, stderr, code = run(t, "train", "--resume", out, "--device", "cpu"); code != 0 {
		t.Errorf("resume after the lock holder of another folder: exit %d: %s", code, stderr)
	}

	// An unwritable --out is refused before any work.
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.MkdirAll(ro, 0o555)
		if _, stderr, code := run(t, tiny(data, ro, "--epochs", "1")...); code == 0 || !strings.Contains(stderr, "cannot be written") {
			t.Errorf("unwritable --out: exit %d: %s", code, stderr)
		}
	}

	// init does not replace a file without --force.
	if _, stderr, code := run(t, "init", "--model", "resnet-8", "--classes", "2", "--out", filepath.Join(out, "last.safetensors")); code != 2 || !strings.Contains(stderr, "--force") {
		t.Errorf("init over a trained checkpoint: exit %d: %s", code, stderr)
	}
	if m := meta(t, filepath.Join(out, "last.safetensors")); m["train"] == "" {
		t.Errorf("init replaced the trained checkpoint")
	}
	if _, stderr, code := run(t, "init", "--model", "resnet-8", "--classes", "2", "--force", "--out", filepath.Join(out, "last.safetensors")); code != 0 {
		t.Errorf("init --force: exit %d: %s", code, stderr)
	}
}

// The default run folder never collides with an existing one, even one
// named for the same second.
func TestDefaultRunFolderIsFresh(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 4)
	now := time.Now()
	for s := range 30 { // every name the run could pick in the next 30 s
		os.MkdirAll(filepath.Join(dir, "runs", "resnet-8-"+now.Add(time.Duration(s)*time.Second).Format("20060102-150405")), 0o755)
	}
	cmd := exec.Command(binary, "train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu", "--steps", "1", "--batch-size", "4")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("train: %v: %s", err, out)
	}
	m, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "metrics.jsonl"))
	if len(m) != 1 || !strings.HasSuffix(filepath.Dir(m[0]), "-2") {
		t.Errorf("run folders with metrics: %v; want one new folder NAME-2", m)
	}
}

// --resume refuses other data, and every flag that would change the run.
func TestResumeRefusesChanges(t *testing.T) {
	dir := t.TempDir()
	a, b, out := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "run")
	writeCIFAR(t, a, 20, 1)
	writeCIFAR(t, b, 20, 2) // same layout, other images
	if _, stderr, code := run(t, "train", "--model", "resnet-8", "--dataset", "cifar10", "--data", a, "--device", "cpu",
		"--batch-size", "50", "--epochs", "1", "--out", out); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	_, stderr, code := run(t, "train", "--resume", out, "--data", b)
	if code != 1 || !strings.Contains(stderr, a) || !strings.Contains(stderr, b) || !strings.Contains(stderr, "images or labels differ") {
		t.Errorf("resume on other data: exit %d: %s", code, stderr)
	}
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(a, moved); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, "train", "--resume", out, "--data", moved, "--device", "cpu", "--math", "fp32"); code != 0 {
		t.Errorf("resume on moved data: exit %d: %s", code, stderr)
	}
	// --fuse may change on resume (float rounding only), said at start-up.
	if _, stderr, code := run(t, "train", "--resume", out, "--data", moved, "--device", "cpu", "--fuse"); code != 0 ||
		!strings.Contains(stderr, "--fuse=true: the run was started with --fuse=false") {
		t.Errorf("resume with --fuse: exit %d: %s", code, stderr)
	}
	for _, f := range [][]string{{"--wd", "0.1"}, {"--momentum", "0.5"}, {"--sd", "linear:0.5"}, {"--ror", "2"},
		{"--dataset", "cifar100"}, {"--init", out + "/last.safetensors"}, {"--val-split", "10"}, {"--unit", "bn-after-add"},
		{"--shortcut", "B"}, {"--augment=false"}, {"--nesterov"}, {"--warmup-steps", "1"}, {"--checkpoint-every", "2"},
		{"--classes", "3"}, {"--lr", "1"}, {"--preset", "he2016"}, {"--dropout", "0.1"}, {"--no-bn-decay"}, {"--shuffle=false"}} {
		_, stderr, code := run(t, append([]string{"train", "--resume", out}, f...)...)
		if name, _, _ := strings.Cut(f[0], "="); code != 2 || !strings.Contains(stderr, name+" would change") {
			t.Errorf("resume %v: exit %d: %s", f, code, stderr)
		}
	}
	if _, stderr, code := run(t, "train", "--resume", out, "--cuda-graphs", "sometimes"); code != 2 || !strings.Contains(stderr, "--cuda-graphs") {
		t.Errorf("--cuda-graphs sometimes: exit %d: %s", code, stderr)
	}
	stdout, stderr, _ := run(t, "train", "--help")
	if help := stdout + stderr; !strings.Contains(help, "only --device, --math, --precision, --recompute, --fuse, --cuda-graphs, --data, --layout") {
		t.Errorf("train --help does not list what --resume allows: %s", help)
	}
}

// Non-finite numbers and settings outside the run are usage errors.
func TestBadNumbersRejected(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 4)
	for i, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--lr", "NaN"}, "--lr"},
		{[]string{"--lr", "Inf"}, "--lr"},
		{[]string{"--momentum", "NaN"}, "--momentum"},
		{[]string{"--wd", "NaN"}, "--wd"},
		{[]string{"--warmup-lr", "NaN"}, "--warmup-lr"},
		{[]string{"--dropout", "NaN"}, "--dropout"},
		{[]string{"--sd", "linear:NaN"}, "--sd"},
		{[]string{"--shortcut", "constant:NaN,1"}, "--shortcut"},
		{[]string{"--lr-schedule", "step:NaN"}, "--lr-schedule"},
		{[]string{"--val-split", "-5"}, "--val-split"},
		{[]string{"--steps", "10", "--warmup-steps", "10"}, "--warmup-steps"},
		{[]string{"--steps", "10", "--lr-schedule", "multistep:5,3"}, "increase"},
		{[]string{"--steps", "10", "--lr-schedule", "multistep:5,20"}, "--lr-schedule"},
		{[]string{"--epochs", "3", "--lr-schedule", "multistep:2e,3e"}, "--lr-schedule"},
		{[]string{"--epochs", "3000000000"}, "--epochs"},
	} {
		out := filepath.Join(dir, fmt.Sprint("run", i))
		_, stderr, code := run(t, tiny(data, out, tc.flags...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %s; want exit 2 naming %s", tc.flags, code, stderr, tc.want)
		}
		if exists(filepath.Join(out, "metrics.jsonl")) {
			t.Errorf("%v trained", tc.flags)
		}
	}
}

// --init refuses weights of another model or configuration unless
// --init-partial, which says what it loaded.
func TestInitRefusesOtherModels(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 4)
	file := func(name string, flags ...string) string {
		path := filepath.Join(dir, name+".safetensors")
		if _, stderr, code := run(t, append([]string{"init", "--classes", "2", "--out", path}, flags...)...); code != 0 {
			t.Fatalf("init %v: exit %d: %s", flags, code, stderr)
		}
		return path
	}
	same, deeper, ror2 := file("same", "--model", "resnet-8"), file("deeper", "--model", "resnet-20"), file("ror2", "--model", "resnet-8", "--ror", "2")
	for i, tc := range []struct {
		init  string
		flags []string
		code  int
		want  string
	}{
		{same, nil, 0, ""},
		{deeper, nil, 1, "holds resnet-20 weights"},
		{ror2, nil, 1, "ror.1.0.conv.weight"},
		{ror2, []string{"--init-partial"}, 0, "unused from the file: ror.1.0.conv.weight"},
		{deeper, []string{"--init-partial"}, 0, "loaded "},
	} {
		args := append([]string{"train", "--model", "resnet-8", "--dataset", "folder", "--data", data, "--device", "cpu",
			"--steps", "1", "--batch-size", "4", "--out", filepath.Join(dir, fmt.Sprint("run", i)), "--init", tc.init}, tc.flags...)
		_, stderr, code := run(t, args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("--init %s %v: exit %d: %s; want exit %d naming %q", filepath.Base(tc.init), tc.flags, code, stderr, tc.code, tc.want)
		}
	}
	if _, stderr, code := run(t, "bench", "--model", "wrn-10-1", "--dropout", "NaN"); code != 2 || !strings.Contains(stderr, "--dropout") {
		t.Errorf("bench --dropout NaN: exit %d: %s", code, stderr)
	}
	if _, stderr, code := run(t, "train", "--resume", filepath.Join(dir, "nowhere")); code != 1 || exists(filepath.Join(dir, "nowhere")) {
		t.Errorf("--resume of a missing folder: exit %d, created it: %v: %s", code, exists(filepath.Join(dir, "nowhere")), stderr)
	}
	if _, stderr, code := run(t, "train", "--model", "resnet-8", "--init-partial"); code != 2 || !strings.Contains(stderr, "--init") {
		t.Errorf("--init-partial alone: exit %d: %s", code, stderr)
	}
}

// Sizes beyond the machine or beyond reason are clear errors, not a dead
// Go runtime or a panic.
func TestHugeSizesRefused(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 4)
	init8 := filepath.Join(dir, "init.safetensors")
	if _, stderr, code := run(t, "init", "--model", "resnet-8", "--classes", "2", "--out", init8); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	// A checkpoint whose metadata asks for an absurd widening.
	f, err := checkpoint.Read(init8)
	if err != nil {
		t.Fatal(err)
	}
	var mc map[string]any
	json.Unmarshal([]byte(f.Meta["model"]), &mc)
	mc["Widen"] = 100000
	b, _ := json.Marshal(mc)
	f.Meta["model"] = string(b)
	wide := filepath.Join(dir, "wide.safetensors")
	if err := checkpoint.Write(wide, f.Tensors, f.Meta); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench", "--model", "resnet-8", "--device", "cpu", "--batch-size", "1000000000", "--steps", "1"}, 1, "out of"},
		{tiny(data, filepath.Join(dir, "run"), "--batch-size", "1000000000", "--steps", "1"), 1, "out of"},
		{[]string{"eval", "--checkpoint", init8, "--dataset", "folder", "--data", data, "--device", "cpu", "--batch-size", "1000000000"}, 0, "accuracy"},
		{[]string{"eval", "--checkpoint", wide, "--dataset", "folder", "--data", data, "--device", "cpu"}, 1, "widening 100000"},
		{[]string{"init", "--model", "resnet-8", "--classes", "100000000", "--out", filepath.Join(dir, "x")}, 2, "classes"},
		{[]string{"init", "--model", "wrn-16-100000", "--out", filepath.Join(dir, "y")}, 2, "widening"},
		{[]string{"bench", "--model", "resnet-100000004", "--device", "cpu"}, 2, "depth"},
	} {
		stdout, stderr, code := run(t, tc.args...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.want) || strings.Contains(stderr, "fatal error") || strings.Contains(stderr, "panic") {
			t.Errorf("%v: exit %d: %s%s; want exit %d naming %q", tc.args, code, stdout, stderr, tc.code, tc.want)
		}
	}
}

// An archive of tiny images padded with megabytes is refused at its first
// member, without reading it whole.
func TestPaddedArchiveRefused(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "data")
	writeFolder(t, folder, 2)
	tgz := filepath.Join(dir, "padded.tar.gz")
	f, err := os.Create(tgz)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, split := range []string{"train", "test"} {
		for _, c := range []string{"dark", "light"} {
			for _, name := range []string{"000a.png", "000b.png"} {
				b, err := os.ReadFile(filepath.Join(folder, split, c, name))
				if err != nil {
					t.Fatal(err)
				}
				b = append(b, make([]byte, 8<<20)...) // the image, then 8 MiB of zeros
				tw.WriteHeader(&tar.Header{Name: split + "/" + c + "/" + name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
				tw.Write(b)
			}
		}
	}
	if err := errors.Join(tw.Close(), zw.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, tiny(tgz, filepath.Join(dir, "run"), "--steps", "1")...)
	if code != 1 || !strings.Contains(stderr, "000a.png: more than") {
		t.Errorf("padded archive: exit %d: %s", code, stderr)
	}
}

// A run killed (kill -9) between checkpoints does not repeat epochs in
// metrics.jsonl when resumed.
func TestKilledRunMetricsDoNotRepeat(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeCIFAR(t, data, 200, 1) // 1000 images: 20 steps an epoch at batch 50
	cmd := exec.Command(binary, "train", "--model", "resnet-8", "--dataset", "cifar10", "--data", data, "--device", "cpu",
		"--batch-size", "50", "--epochs", "6", "--checkpoint-every", "2", "--out", out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
		if strings.Count(string(b), "\n") >= 4 || time.Now().After(deadline) { // header + 3 epochs
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, stderr, code := run(t, "train", "--resume", out); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	var epochs []int
	for _, m := range metricsLines(t, out) {
		epochs = append(epochs, int(m["epoch"].(float64)))
	}
	if !slices.Equal(epochs, []int{1, 2, 3, 4, 5, 6}) {
		t.Errorf("epochs in metrics.jsonl after kill -9 and resume: %v", epochs)
	}
}

// eval: --split train leaves out the run's validation images; NaN weights
// are refused on read, naming the tensor (issue 23; they used to evaluate to
// a NaN loss with exit 0); a checkpoint with a zero std is refused.
func TestEvalEdgeCases(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 8)
	if _, stderr, code := run(t, tiny(data, out, "--epochs", "1", "--val-split", "4")...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	last := filepath.Join(out, "last.safetensors")
	evalJSON := func(ckpt string, more ...string) (map[string]any, string, int) {
		stdout, stderr, code := run(t, append([]string{"eval", "--checkpoint", ckpt, "--dataset", "folder", "--data", data, "--device", "cpu", "--json"}, more...)...)
		var res map[string]any
		if code == 0 {
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Errorf("eval --json: %q: %v", stdout, err)
			}
		}
		return res, stderr, code
	}
	for split, n := range map[string]float64{"train": 12, "val": 4, "test": 16} {
		if res, stderr, code := evalJSON(last, "--split", split); code != 0 || res["n"] != n {
			t.Errorf("eval --split %s: exit %d, %v, %s; want %g images", split, code, res, stderr, n)
		}
	}
	f, err := checkpoint.Read(last)
	if err != nil {
		t.Fatal(err)
	}
	nan := filepath.Join(dir, "nan.safetensors")
	w := f.Tensors["fc.weight"].Data().([]float32)
	orig := w[0]
	w[0] = float32(math.NaN())
	if err := checkpoint.Write(nan, f.Tensors, f.Meta); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := evalJSON(nan); code != 1 || !strings.Contains(stderr, `tensor "fc.weight" element 0 is NaN`) {
		t.Errorf("eval --json of NaN weights: exit %d, %s; want 1 naming the tensor", code, stderr)
	}
	w[0] = orig
	f.Meta["normalization"] = `{"Mean":[0.5,0.5,0.5],"Std":[0.2,0,0.2]}`
	zero := filepath.Join(dir, "zero.safetensors")
	if err := checkpoint.Write(zero, f.Tensors, f.Meta); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := evalJSON(zero); code != 1 || !strings.Contains(stderr, "bad normalisation") {
		t.Errorf("eval of a checkpoint with std 0: exit %d, %s", code, stderr)
	}
}

// Small things: the progress line never shows statistics it has not got;
// a path through a file is not blamed on missing data; an --out that
// cannot be created is refused before any work.
func TestSmallerMessages(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 8)
	_, stderr, code := run(t, tiny(data, filepath.Join(dir, "run"), "--epochs", "4", "--batch-size", "16")...)
	if code != 0 || strings.Contains(stderr, "loss 0.0000  acc 0.00%") || !strings.Contains(stderr, "epoch 4/4 [") {
		t.Errorf("progress: exit %d: %s", code, stderr)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	_, stderr, code = run(t, "train", "--model", "resnet-8", "--data", filepath.Join(file, "sub"), "--device", "cpu", "--steps", "1", "--out", filepath.Join(dir, "r2"))
	if code != 1 || strings.Contains(stderr, "download") || !strings.Contains(stderr, "not a directory") {
		t.Errorf("--data under a file: exit %d: %s", code, stderr)
	}
	_, stderr, code = run(t, tiny(data, filepath.Join(file, "run"), "--epochs", "1")...)
	if code != 1 || !strings.Contains(stderr, "not a directory") {
		t.Errorf("--out under a file: exit %d: %s", code, stderr)
	}
}
