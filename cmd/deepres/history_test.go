package main

import (
	bin "encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepres/deepres/train"
)

// plot and report never write over a file of another kind: an output whose
// format they do not write is refused before anything is created, and an
// existing file is replaced only by one of its own kind.
func TestOutputsNeverClobber(t *testing.T) {
	root := t.TempDir()
	rdir := fakeRun(t, root, rowInfo{Study: "s", Row: "a"}, 0, 3, 0.5, 0.1, 1e-3)
	ckpt := filepath.Join(rdir, "last.safetensors")
	text := filepath.Join(root, "notes.png")
	for path, content := range map[string]string{ckpt: "a checkpoint", text: "not an image"} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	metrics, _ := os.ReadFile(filepath.Join(rdir, "metrics.jsonl"))
	for _, args := range [][]string{
		{"plot", rdir, "-o", ckpt},
		{"plot", rdir, "-o", filepath.Join(rdir, "metrics.jsonl")},
		{"plot", rdir, "-o", text},
		{"report", root, "-o", ckpt},
		{"report", root, "-o", filepath.Join(rdir, "metrics.jsonl")},
	} {
		_, stderr, code := run(t, args...)
		if code == 0 || !strings.Contains(stderr, args[3]) {
			t.Errorf("%v: exit %d, want a refusal naming the file: %s", args, code, stderr)
		}
	}
	if b, _ := os.ReadFile(ckpt); string(b) != "a checkpoint" {
		t.Errorf("the checkpoint now holds %q", b)
	}
	if b, _ := os.ReadFile(text); string(b) != "not an image" {
		t.Errorf("the text file now holds %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(rdir, "metrics.jsonl")); string(b) != string(metrics) {
		t.Errorf("metrics.jsonl changed: %q", b)
	}
	// The same outputs, written twice, leave no temporary file behind.
	png := filepath.Join(root, "curve.png")
	for range 2 {
		if _, stderr, code := run(t, "plot", rdir, "-o", png); code != 0 {
			t.Fatalf("plot: exit %d: %s", code, stderr)
		}
		if _, stderr, code := run(t, "report", root, "-o", filepath.Join(root, "report.md")); code != 0 {
			t.Fatalf("report: exit %d: %s", code, stderr)
		}
	}
	checkPNG(t, png)
	if left, _ := filepath.Glob(filepath.Join(root, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// A metrics.jsonl with an epoch missing (lost by a kill between checkpoint
// and log in older versions) is named by plot and report.
func TestMetricsGapNamed(t *testing.T) {
	root := t.TempDir()
	rdir := fakeRun(t, root, rowInfo{Study: "s", Row: "a"}, 0, 4, 0.5, 0.1, 1e-3)
	path := filepath.Join(rdir, "metrics.jsonl")
	b, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(path, []byte(lines[0]+lines[2]+lines[3]), 0o644) // epochs 1 3 4
	want := path + ": no line for epoch 2"
	if _, stderr, code := run(t, "plot", rdir, "-o", filepath.Join(root, "p.png")); code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("plot of a run with a gap: exit %d: %s; want %q", code, stderr, want)
	}
	if _, stderr, code := run(t, "report", root); code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("report of a run with a gap: exit %d: %s; want %q", code, stderr, want)
	}
	if md, _ := os.ReadFile(filepath.Join(root, "report.md")); !strings.Contains(string(md), "no line for epoch 2") {
		t.Errorf("the report does not mention the gap:\n%s", md)
	}
}

// plot and report read metrics lines of any length, name the file and line
// of a bad one, and say when a run has no epoch yet.
func TestMetricsReaderMessages(t *testing.T) {
	root := t.TempDir()
	rdir := fakeRun(t, root, rowInfo{Study: "s", Row: "a"}, 0, 2, 0.5, 0.1, 1e-3)
	path := filepath.Join(rdir, "metrics.jsonl")
	b, _ := os.ReadFile(path)
	long := fmt.Sprintf(`{"epoch":3,"step":30,"test_error":0.1,"note":%q}`+"\n", strings.Repeat("x", 2<<20))
	os.WriteFile(path, append(b, long...), 0o644)
	if _, stderr, code := run(t, "plot", rdir, "-o", filepath.Join(root, "p.png")); code != 0 {
		t.Errorf("plot of a 2 MiB metrics line: exit %d: %s", code, stderr)
	}
	os.WriteFile(path, append(b, "{bad\n{\"epoch\":4}\n"...), 0o644)
	if _, stderr, code := run(t, "plot", rdir, "-o", filepath.Join(root, "p.png")); code != 1 || !strings.Contains(stderr, path+" line 3") {
		t.Errorf("plot of a bad line: exit %d: %s", code, stderr)
	}

	header := t.TempDir()
	dir := filepath.Join(header, "s", "a", "seed-0")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(`{"epoch":0,"run":{"BatchSize":8}}`+"\n"), 0o644)
	if _, stderr, code := run(t, "report", header); code != 1 || !strings.Contains(stderr, "no epoch") || !strings.Contains(stderr, dir) {
		t.Errorf("report of a header-only run: exit %d: %s", code, stderr)
	}
}

// train --resume on a folder that holds no run leaves nothing in it.
func TestResumeOfNoRunLeavesNoLock(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 2)
	for _, d := range []string{data, filepath.Join(data, "train")} {
		_, stderr, code := run(t, "train", "--resume", d)
		if code == 0 || !strings.Contains(stderr, "no run") {
			t.Errorf("--resume %s: exit %d: %s", d, code, stderr)
		}
		if exists(filepath.Join(d, "run.lock")) {
			t.Errorf("--resume %s left run.lock", d)
		}
	}
	if _, stderr, code := run(t, tiny(data, filepath.Join(dir, "run"), "--steps", "1")...); code != 0 {
		t.Errorf("the data folder no longer loads: exit %d: %s", code, stderr)
	}
}

// A run folder without a checkpoint says what happened and the command
// that starts it again.
func TestDeadEndFolderExplains(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 8)
	args := tiny(data, out, "--epochs", "2", "--checkpoint-every", "0")
	// A run that ended before its first checkpoint: its metrics, no last.safetensors.
	if _, stderr, code := run(t, args...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	os.Remove(filepath.Join(out, "last.safetensors"))
	os.Remove(filepath.Join(out, "best.safetensors"))
	_, stderr, code := run(t, args...)
	if code == 0 || !strings.Contains(stderr, "no checkpoint") || !strings.Contains(stderr, "--overwrite") || strings.Contains(stderr, "continue it with") {
		t.Errorf("train --out on a folder without a checkpoint: exit %d: %s", code, stderr)
	}
	_, stderr, code = run(t, "train", "--resume", out)
	if code == 0 || !strings.Contains(stderr, "no checkpoint") || !strings.Contains(stderr, "--overwrite") || !strings.Contains(stderr, "--checkpoint-every 0") {
		t.Errorf("--resume of a folder without a checkpoint: exit %d: %s", code, stderr)
	}
	// The command it gives starts the run again.
	i := strings.Index(stderr, "deepres train ")
	if i < 0 {
		t.Fatalf("no command in: %s", stderr)
	}
	line := strings.TrimSpace(strings.SplitN(stderr[i+len("deepres "):], "\n", 2)[0])
	if _, serr, code := run(t, strings.Fields(line)...); code != 0 {
		t.Errorf("%s: exit %d: %s", line, code, serr)
	}
	if !exists(filepath.Join(out, "last.safetensors")) {
		t.Errorf("%s wrote no checkpoint", line)
	}
}

// Empty splits are refused before training, naming the split.
func TestEmptySplitsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ train, test int }{{0, 4}, {4, 0}} {
		data := filepath.Join(dir, fmt.Sprintf("svhn-%d-%d", c.train, c.test))
		os.MkdirAll(data, 0o755)
		os.WriteFile(filepath.Join(data, "train_32x32.mat"), svhnMat(c.train), 0o644)
		os.WriteFile(filepath.Join(data, "test_32x32.mat"), svhnMat(c.test), 0o644)
		empty := "train"
		if c.test == 0 {
			empty = "test"
		}
		_, stderr, code := run(t, "train", "--model", "resnet-8", "--dataset", "svhn", "--data", data, "--device", "cpu",
			"--batch-size", "2", "--epochs", "1", "--out", filepath.Join(data, "run"))
		if code == 0 || !strings.Contains(stderr, "svhn "+empty) || !strings.Contains(stderr, "no images") || exists(filepath.Join(data, "run", "metrics.jsonl")) {
			t.Errorf("SVHN with an empty %s split: exit %d: %s", empty, code, stderr)
		}
	}
}

// svhnMat is an SVHN format-2 .mat file of n grey images with labels 1..10.
func svhnMat(n int) []byte {
	le := bin.LittleEndian
	var out []byte
	hdr := make([]byte, 128)
	for i := range 116 {
		hdr[i] = ' '
	}
	copy(hdr, "MATLAB 5.0 MAT-file")
	le.PutUint16(hdr[124:], 0x0100)
	copy(hdr[126:], "IM")
	out = append(out, hdr...)
	elem := func(b []byte, typ uint32, data []byte) []byte {
		b = le.AppendUint32(b, typ)
		b = le.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		return b
	}
	const miINT8, miUINT8, miINT32, miUINT32, miDOUBLE, miMATRIX = 1, 2, 5, 6, 9, 14
	const mxDOUBLE, mxUINT8 = 6, 9
	matrix := func(class uint32, dims []int32, name string, typ uint32, data []byte) {
		var m []byte
		flags := make([]byte, 8)
		le.PutUint32(flags, class)
		m = elem(m, miUINT32, flags)
		var d []byte
		for _, v := range dims {
			d = le.AppendUint32(d, uint32(v))
		}
		m = elem(m, miINT32, d)
		m = elem(m, miINT8, []byte(name))
		m = elem(m, typ, data)
		out = elem(out, miMATRIX, m)
	}
	x := make([]byte, n*3*32*32)
	for i := range x {
		x[i] = byte(i)
	}
	matrix(mxUINT8, []int32{32, 32, 3, int32(n)}, "X", miUINT8, x)
	var y []byte
	for i := range n {
		y = le.AppendUint64(y, math.Float64bits(float64(i%10+1)))
	}
	matrix(mxDOUBLE, []int32{int32(n), 1}, "y", miDOUBLE, y)
	return out
}

// Temporary files a killed process left are removed at the next start that
// holds the run's lock, and only then.
func TestLeftoverTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 8)
	if _, stderr, code := run(t, tiny(data, out, "--epochs", "1")...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	lock, err := train.LockRun(out) // another process trains here...
	if err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(out, ".last.safetensors.tmp-4242") // ...and is writing its checkpoint
	os.WriteFile(left, []byte("half a checkpoint"), 0o600)
	if _, _, code := run(t, "train", "--resume", out); code == 0 || !exists(left) {
		t.Errorf("a resume refused by the lock: exit %d, leftover there: %v", code, exists(left))
	}
	lock.Close()
	_, stderr, code := run(t, "train", "--resume", out)
	if code != 0 || exists(left) || !strings.Contains(stderr, ".last.safetensors.tmp-4242") {
		t.Errorf("resume: exit %d, leftover still there: %v: %s", code, exists(left), stderr)
	}
}

// resume names a gap in metrics.jsonl that it cannot fill.
func TestResumeNamesGap(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 8)
	if _, stderr, code := run(t, tiny(data, out, "--epochs", "3")...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	path := filepath.Join(out, "metrics.jsonl")
	b, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(path, []byte(lines[0]+lines[1]+lines[3]), 0o644) // header, epochs 1 and 3
	_, stderr, code := run(t, "train", "--resume", out)
	if code != 0 || !strings.Contains(stderr, path+": no line for epoch 2") {
		t.Errorf("resume with a gap: exit %d: %s", code, stderr)
	}
}
