package checkpoint

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// smallRun writes a checkpoint shaped like a training one and returns its path and bytes.
func smallRun(t *testing.T) (string, []byte) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	tensors := map[string]*tensor.Dense{
		"conv1.weight":                randDense(rng, 16, 3, 3, 3),
		"bn1.running_var":             tensor.New(tensor.WithShape(16), tensor.WithBacking(make([]float32, 16))),
		"fc.weight":                   randDense(rng, 10, 16),
		"optim.momentum.conv1.weight": randDense(rng, 16, 3, 3, 3),
	}
	path := filepath.Join(t.TempDir(), "last.safetensors")
	if err := Write(path, tensors, map[string]string{"format": "deepres-2", "epoch": "12", "step": "4680"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, raw
}

// Twelve random single-bit flips in the tensor data, and flips in the metadata,
// are each refused by the checksum, naming the file.
func TestBitFlipsDetected(t *testing.T) {
	path, raw := smallRun(t)
	if f, err := Read(path); err != nil || !strings.HasPrefix(f.Checksum, "sha256:") {
		t.Fatalf("intact file: %v, checksum %q", err, f.Checksum)
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	data := int(8 + n)
	rng := rand.New(rand.NewPCG(5, 6))
	bad := filepath.Join(filepath.Dir(path), "flipped.safetensors")
	flip := func(pos int, bit uint) error {
		b := bytes.Clone(raw)
		b[pos] ^= 1 << bit
		if err := os.WriteFile(bad, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(bad)
		return err
	}
	for range 12 {
		pos, bit := data+rng.IntN(len(raw)-data), uint(rng.IntN(8))
		err := flip(pos, bit)
		if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), bad) {
			t.Errorf("bit %d of data byte %d flipped: %v; want a checksum mismatch naming %s", bit, pos-data, err, bad)
		}
	}
	// "4680" -> "4681" and "12" -> "13": the header's values are covered too.
	for _, s := range []string{`"4680"`, `"12"`} {
		i := bytes.Index(raw, []byte(s))
		if err := flip(i+len(s)-2, 0); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Errorf("metadata %s changed: %v; want a checksum mismatch", s, err)
		}
	}
}

// A file without a checksum (an older deepres's, another program's) reads, and
// says it was not verified; a malformed checksum is refused.
func TestReadWithoutChecksum(t *testing.T) {
	entries := prepare(map[string]*tensor.Dense{"fc.bias": tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, 2}))})
	dir := t.TempDir()
	for _, tc := range []struct {
		meta map[string]string
		want string // "" : reads, unverified
	}{
		{map[string]string{"format": "deepres-1"}, ""},
		{map[string]string{"checksum": "sha256:00"}, "not sha256:<64 hex digits>"},
		{map[string]string{"checksum": "crc32:" + strings.Repeat("0", 64)}, "not sha256:<64 hex digits>"},
		{map[string]string{"checksum": "sha256:" + strings.Repeat("0", 64)}, "checksum mismatch"},
	} {
		var b bytes.Buffer
		if err := encode(&b, encodeHeader(entries, tc.meta), entries); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "x.safetensors")
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Read(path)
		switch {
		case tc.want == "" && (err != nil || f.Checksum != ""):
			t.Errorf("%v: %v, checksum %q; want it read, unverified", tc.meta, err, f.Checksum)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v; want %q", tc.meta, err, tc.want)
		}
	}
}

// Values no run reaches without diverging are refused on read, naming the tensor,
// even in a file whose checksum is good (written so).
func TestReadRefusesBadValues(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		v    float32
		want string
	}{
		{"fc.weight", float32(math.NaN()), "NaN"},
		{"fc.weight", float32(math.Inf(-1)), "-Inf"},
		{"fc.weight", 3e38, "beyond"},
		{"optim.momentum.fc.weight", -2e19, "beyond"},
		{"layer2.1.bn2.running_var", -0.5, "cannot be negative"},
	} {
		data := []float32{0.5, 1, 2}
		data[1] = tc.v
		path := filepath.Join(dir, "bad.safetensors")
		if err := Write(path, map[string]*tensor.Dense{tc.name: tensor.New(tensor.WithShape(3), tensor.WithBacking(data))}, nil); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"`+tc.name+`" element 1`) {
			t.Errorf("%s = %v: %v; want an error naming the tensor, the element and %q", tc.name, tc.v, err, tc.want)
		}
	}
	// A negative mean is fine, and so is a zero variance.
	path := filepath.Join(dir, "ok.safetensors")
	if err := Write(path, map[string]*tensor.Dense{
		"bn1.running_mean": tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{-3, 1})),
		"bn1.running_var":  tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{0, 1})),
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err != nil {
		t.Error(err)
	}
}
