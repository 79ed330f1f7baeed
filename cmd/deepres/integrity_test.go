package main

import (
	"bytes"
	le "encoding/binary"
	"encoding/json"
	"image"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepres/deepres/checkpoint"
)

// writeClasses writes an image-folder dataset with the given class names;
// shade makes other images of the same layout.
func writeClasses(t *testing.T, root string, perClass, shade int, classes ...string) {
	t.Helper()
	for _, split := range []string{"train", "test"} {
		for c, name := range classes {
			dir := filepath.Join(root, split, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := range perClass {
				img := image.NewRGBA(image.Rect(0, 0, 32, 32))
				for p := range img.Pix {
					img.Pix[p] = uint8(30 + 60*c + (p*7+i*13+shade)%50)
				}
				f, err := os.Create(filepath.Join(dir, string(rune('a'+i))+".png"))
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

// rewriteHeader rewrites a safetensors file's metadata with edit, keeping its
// tensor bytes and dropping its checksum: a file as an older deepres, another
// program or damage before the checksum would leave it.
func rewriteHeader(t *testing.T, path string, edit func(meta map[string]string)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := le.LittleEndian.Uint64(raw[:8])
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	if err := json.Unmarshal(header["__metadata__"], &meta); err != nil {
		t.Fatal(err)
	}
	delete(meta, checkpoint.ChecksumKey)
	edit(meta)
	mb, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	header["__metadata__"] = mb
	var hb bytes.Buffer
	hb.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(header)) {
		if i > 0 {
			hb.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		hb.Write(kb)
		hb.WriteByte(':')
		hb.Write(header[k])
	}
	hb.WriteByte('}')
	for hb.Len()%8 != 0 {
		hb.WriteByte(' ')
	}
	out := le.LittleEndian.AppendUint64(nil, uint64(hb.Len()))
	out = append(append(out, hb.Bytes()...), raw[8+n:]...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rewriteMeta rewrites a checkpoint through checkpoint.Write with edited
// metadata (and tensors): a well-formed, checksummed file that says something
// else, as another program or version could write it.
func rewriteMeta(t *testing.T, src, dst string, edit func(f *checkpoint.File)) {
	t.Helper()
	f, err := checkpoint.Read(src)
	if err != nil {
		t.Fatal(err)
	}
	edit(f)
	if err := checkpoint.Write(dst, f.Tensors, f.Meta); err != nil {
		t.Fatal(err)
	}
}

// editJSON changes one field of a JSON metadata value.
func editJSON(t *testing.T, meta map[string]string, key string, edit func(m map[string]any)) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(meta[key]), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	meta[key] = string(b)
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A damaged checkpoint is refused on every read, naming the file and the
// intact one beside it; values no run reaches are refused naming the tensor.
func TestDamagedCheckpointRefused(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 8)
	if _, stderr, code := run(t, tiny(data, out, "--epochs", "2")...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	last, best := filepath.Join(out, "last.safetensors"), filepath.Join(out, "best.safetensors")
	good, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(good)
	bad[len(bad)-100] ^= 0x10 // one bit of the last tensors' data
	if err := os.WriteFile(last, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	eval := func(ckpt string) (string, int) {
		_, stderr, code := run(t, "eval", "--checkpoint", ckpt, "--dataset", "folder", "--data", data, "--device", "cpu", "--json")
		return stderr, code
	}
	if stderr, code := eval(last); code != 1 || !strings.Contains(stderr, "checksum mismatch") || !strings.Contains(stderr, last) ||
		!strings.Contains(stderr, best+" is intact") {
		t.Errorf("eval of a flipped bit: exit %d: %s; want 1, naming the file and %s", code, stderr, best)
	}
	_, stderr, code := run(t, "train", "--resume", out, "--device", "cpu")
	if code != 1 || !strings.Contains(stderr, "checksum mismatch") || !strings.Contains(stderr, "cp "+best+" "+last+" && deepres train --resume "+out) {
		t.Errorf("resume of a flipped bit: exit %d: %s; want 1 and how to continue from %s", code, stderr, best)
	}
	// With best.safetensors damaged too, the error says so instead of offering it.
	bestGood, err := os.ReadFile(best)
	if err != nil {
		t.Fatal(err)
	}
	badBest := bytes.Clone(bestGood)
	badBest[len(badBest)-8] ^= 0x01
	if err := os.WriteFile(best, badBest, 0o644); err != nil {
		t.Fatal(err)
	}
	if stderr, code := eval(last); code != 1 || !strings.Contains(stderr, best+" is damaged too") || strings.Contains(stderr, "is intact") {
		t.Errorf("eval with both checkpoints damaged: exit %d: %s", code, stderr)
	}
	if err := os.WriteFile(best, bestGood, 0o644); err != nil {
		t.Fatal(err)
	}
	initOut := filepath.Join(dir, "init-run")
	if _, stderr, code := run(t, tiny(data, initOut, "--epochs", "1", "--init", last)...); code != 1 || !strings.Contains(stderr, "checksum mismatch") {
		t.Errorf("--init of a flipped bit: exit %d: %s", code, stderr)
	}
	if err := os.WriteFile(last, good, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tensor string
		v      float32
		want   string
	}{
		{"fc.weight", float32(math.NaN()), `"fc.weight" element 3 is NaN`},
		{"conv1.weight", float32(math.Inf(1)), `"conv1.weight" element 3 is +Inf`},
		{"fc.bias", 3e38, `"fc.bias" element 1 is 3e+38`},
		{"bn1.running_var", -0.25, `"bn1.running_var" element 3 is -0.25, and a variance cannot be negative`},
	} {
		p := filepath.Join(dir, "bad.safetensors")
		rewriteMeta(t, last, p, func(f *checkpoint.File) {
			w := f.Tensors[tc.tensor].Data().([]float32)
			w[min(3, len(w)-1)] = tc.v
		})
		if stderr, code := eval(p); code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("eval with %s: exit %d: %s; want 1 naming %s", tc.want, code, stderr, tc.want)
		}
		if _, stderr, code := run(t, tiny(data, initOut, "--epochs", "1", "--init", p)...); code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("--init with %s: exit %d: %s", tc.want, code, stderr)
		}
	}
}

// The format tag and the stored settings are enforced, naming the deepres
// that wrote them; an older checkpoint without a checksum still resumes, with
// a note, and so does one with the older data fingerprint.
func TestCheckpointFormatEnforced(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeFolder(t, data, 8)
	if _, stderr, code := run(t, tiny(data, out, "--epochs", "1")...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	last := filepath.Join(out, "last.safetensors")
	m := meta(t, last)
	if m["format"] != "deepres-2" || m["deepres_version"] == "" {
		t.Errorf("format %q, deepres_version %q; want deepres-2 and the writer's version", m["format"], m["deepres_version"])
	}
	orig := filepath.Join(dir, "orig.safetensors")
	copyFile(t, last, orig)
	for _, tc := range []struct {
		name string
		edit func(f *checkpoint.File)
		want []string
	}{
		{"newer format", func(f *checkpoint.File) { f.Meta["format"], f.Meta["deepres_version"] = "deepres-3", "v9.0.0" },
			[]string{"format deepres-3, newer", "deepres v9.0.0", "upgrade"}},
		{"format 0", func(f *checkpoint.File) { f.Meta["format"] = "deepres-0" }, []string{`"deepres-0", which no deepres writes`}},
		{"no format", func(f *checkpoint.File) { delete(f.Meta, "format") }, []string{"no format tag"}},
		{"unknown setting", func(f *checkpoint.File) {
			f.Meta["deepres_version"] = "v9.0.0"
			editJSON(t, f.Meta, "train", func(m map[string]any) { m["Mixup"] = 0.2 })
		}, []string{`unknown field "Mixup"`, "deepres v9.0.0"}},
		{"unknown model setting", func(f *checkpoint.File) {
			editJSON(t, f.Meta, "model", func(m map[string]any) { m["Attention"] = true })
		}, []string{`unknown field "Attention"`}},
		{"newer architecture", func(f *checkpoint.File) {
			f.Meta["deepres_version"] = "v9.0.0"
			editJSON(t, f.Meta, "model", func(m map[string]any) { m["Arch"] = 7 })
			editJSON(t, f.Meta, "train", func(m map[string]any) { m["Model"].(map[string]any)["Arch"] = 7 })
		}, []string{"revision 7, newer", "deepres v9.0.0", "upgrade"}},
		{"corrupted setting", func(f *checkpoint.File) {
			editJSON(t, f.Meta, "train", func(m map[string]any) { m["Normalize"] = "per-galaxy" })
		}, []string{"field Normalize", `"train"`}},
		{"step past the end", func(f *checkpoint.File) {
			editJSON(t, f.Meta, "position", func(m map[string]any) { m["Step"] = 99 })
		}, []string{"step 99, past the run's end (step 2)"}},
	} {
		rewriteMeta(t, orig, last, tc.edit)
		_, stderr, code := run(t, "train", "--resume", out, "--device", "cpu")
		ok := code == 1 && !strings.Contains(stderr, "--normalize")
		for _, w := range tc.want {
			ok = ok && strings.Contains(stderr, w)
		}
		if !ok {
			t.Errorf("%s: resume: exit %d: %s; want exit 1 with %q", tc.name, code, stderr, tc.want)
		}
		if tc.name == "newer architecture" || tc.name == "newer format" {
			if _, stderr, code := run(t, "eval", "--checkpoint", last, "--dataset", "folder", "--data", data, "--device", "cpu"); code != 1 || !strings.Contains(stderr, "upgrade") {
				t.Errorf("%s: eval: exit %d: %s", tc.name, code, stderr)
			}
		}
	}
	// A checksummed deepres-2 file whose checksum was stripped is refused.
	copyFile(t, orig, last)
	rewriteHeader(t, last, func(map[string]string) {})
	if _, stderr, code := run(t, "train", "--resume", out, "--device", "cpu"); code != 1 || !strings.Contains(stderr, "has none") {
		t.Errorf("deepres-2 without its checksum: exit %d: %s", code, stderr)
	}
	// What format deepres-1 wrote: no checksum, no version, the sample
	// fingerprint only. It resumes, saying what it could not check.
	copyFile(t, orig, last)
	rewriteHeader(t, last, func(m map[string]string) {
		m["format"] = "deepres-1"
		delete(m, "deepres_version")
		editJSON(t, m, "train", func(c map[string]any) {
			d := c["Data"].(map[string]any)
			delete(d, "TrainSHA256")
			delete(d, "TestSHA256")
		})
	})
	_, stderr, code := run(t, "train", "--resume", out, "--device", "cpu", "--math", "fp32")
	if code != 0 || !strings.Contains(stderr, "(format deepres-1) without a checksum: it is read unverified") ||
		!strings.Contains(stderr, "recorded only a sample of its data") {
		t.Errorf("resume of a deepres-1 checkpoint: exit %d: %s; want 0 with two notes", code, stderr)
	}
	// The run is complete now: resuming it again says so and changes nothing.
	before, _ := os.ReadFile(last)
	_, stderr, code = run(t, "train", "--resume", out, "--device", "cpu")
	after, _ := os.ReadFile(last)
	if code != 0 || !strings.Contains(stderr, "is complete (step 2 of 2)") || !bytes.Equal(before, after) {
		t.Errorf("resume of a complete run: exit %d: %s; want 0, saying it is complete, the checkpoint untouched", code, stderr)
	}
}

// eval refuses data whose classes are not the model's, naming both lists,
// and a validation split carved out of data that is not the run's.
func TestEvalChecksTheData(t *testing.T) {
	dir := t.TempDir()
	a, other, out := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "run")
	writeClasses(t, a, 4, 0, "airplane", "cat", "ship")
	if _, stderr, code := run(t, tiny(a, out, "--epochs", "1", "--val-split", "3")...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	last := filepath.Join(out, "last.safetensors")
	eval := func(data string, more ...string) (string, int) {
		_, stderr, code := run(t, append([]string{"eval", "--checkpoint", last, "--dataset", "folder", "--data", data, "--device", "cpu"}, more...)...)
		return stderr, code
	}
	writeClasses(t, other, 4, 0, "bird", "dog", "frog")
	if stderr, code := eval(other); code != 1 || !strings.Contains(stderr, "[airplane cat ship]") || !strings.Contains(stderr, "[bird dog frog]") {
		t.Errorf("eval on other classes: exit %d: %s; want 1 naming both lists", code, stderr)
	}
	same := filepath.Join(dir, "same-classes")
	writeClasses(t, same, 4, 17, "airplane", "cat", "ship") // the run's classes, other images
	if stderr, code := eval(same, "--split", "val"); code != 1 || !strings.Contains(stderr, "would not be the run's") {
		t.Errorf("eval --split val on other images: exit %d: %s", code, stderr)
	}
	if stderr, code := eval(same); code != 0 {
		t.Errorf("eval --split test on other images of the same classes: exit %d: %s", code, stderr)
	}
	for _, split := range []string{"val", "train", "test"} {
		if stderr, code := eval(a, "--split", split); code != 0 {
			t.Errorf("eval --split %s on the run's data: exit %d: %s", split, code, stderr)
		}
	}
}

// 8% of the training labels swapped between two classes is refused on resume.
func TestResumeRefusesRelabelledData(t *testing.T) {
	dir := t.TempDir()
	a, out := filepath.Join(dir, "a"), filepath.Join(dir, "run")
	const perFile = 100 // 500 training records
	writeCIFAR(t, a, perFile, 1)
	if _, stderr, code := run(t, "train", "--model", "resnet-8", "--dataset", "cifar10", "--data", a, "--device", "cpu",
		"--batch-size", "250", "--epochs", "2", "--checkpoint-every", "1", "--out", out); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	// Swap classes 3 and 5 in 40 of the 500 records, avoiding the 16 that
	// the former sample fingerprint read (record k·500/16), as the relabelling
	// the issue reports happened to.
	sampled := map[int]bool{}
	for k := range 16 {
		sampled[k*5*perFile/16] = true
	}
	swapped := 0
	for f := 1; f <= 5 && swapped < 40; f++ {
		path := filepath.Join(a, "data_batch_"+string(rune('0'+f))+".bin")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range perFile {
			rec := (f-1)*perFile + i
			if l := b[i*3073]; (l == 3 || l == 5) && !sampled[rec] && swapped < 40 {
				b[i*3073] = 8 - l
				swapped++
			}
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	last := filepath.Join(out, "last.safetensors")
	rewriteMeta(t, last, last, func(f *checkpoint.File) {
		editJSON(t, f.Meta, "position", func(m map[string]any) { m["Step"], m["Epoch"] = 2, 1 })
	})
	_, stderr, code := run(t, "train", "--resume", out, "--device", "cpu")
	if code != 1 || !strings.Contains(stderr, "the training split's images or labels differ") {
		t.Errorf("resume on relabelled data (%d labels swapped): exit %d: %s", swapped, code, stderr)
	}
}

// --resume with a file says so; --classes with train is a usage error.
func TestResumeAndClassesMessages(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "last.safetensors")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, stderr, code := run(t, "train", "--resume", file); code != 1 || strings.Contains(stderr, "<nil>") || !strings.Contains(stderr, "a file, not a run folder") ||
		!strings.Contains(stderr, "--resume "+dir) {
		t.Errorf("--resume FILE: exit %d: %s", code, stderr)
	}
	data := filepath.Join(dir, "data")
	writeFolder(t, data, 2)
	if _, stderr, code := run(t, tiny(data, filepath.Join(dir, "run"), "--epochs", "1", "--classes", "3")...); code != 2 || !strings.Contains(stderr, "--classes") {
		t.Errorf("train --classes: exit %d: %s", code, stderr)
	}
}
