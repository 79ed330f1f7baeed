package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/deepres/deepres/internal/atomicfile"
)

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// NaN and ±Inf are refused on read (TestReadRefusesBadValues).
	special := tensor.New(tensor.WithShape(6), tensor.WithBacking([]float32{
		0, float32(math.Copysign(0, -1)),
		math.Float32frombits(1), // the smallest subnormal
		1e19, -1e19,             // within MaxAbs
		-1.5,
	}))
	wide := randDense(rng, 4, 6)
	view, err := wide.Slice(nil, tensor.S(1, 3)) // a strided (4,2) view: must be written materialised
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tensors map[string]*tensor.Dense
		meta    map[string]string
	}{
		{"conv weight", map[string]*tensor.Dense{"conv1.weight": randDense(rng, 16, 3, 3, 3)}, map[string]string{"model": "resnet-20"}},
		{"no metadata", map[string]*tensor.Dense{"fc.bias": randDense(rng, 10)}, nil},
		{"no tensors", map[string]*tensor.Dense{}, map[string]string{"epoch": "3"}},
		{"scalar and special values", map[string]*tensor.Dense{
			"step":    tensor.New(tensor.FromScalar(float32(42.5))),
			"special": special,
		}, map[string]string{}},
		{"view", map[string]*tensor.Dense{"v": view.(*tensor.Dense)}, nil},
		{"many names and odd strings", map[string]*tensor.Dense{
			"layer1.0.conv1.weight":       randDense(rng, 16, 16, 3, 3),
			"layer1.0.bn1.running_mean":   randDense(rng, 16),
			"optim.momentum.fc.weight":    randDense(rng, 10, 64),
			`quote"and\backslash <&> é 🎉`: randDense(rng, 1),
		}, map[string]string{"config": `{"depth": 20, "note": "<a & b>\n"}`, "ünï": "κόσμε", "": "empty key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ckpt.safetensors")
			if err := Write(path, tc.tensors, tc.meta); err != nil {
				t.Fatal(err)
			}
			got, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			equalFiles(t, tc.tensors, tc.meta, got)
			names := got.Names()
			if !slices.IsSorted(names) || len(names) != len(tc.tensors) {
				t.Errorf("Names() = %v, want the %d names sorted", names, len(tc.tensors))
			}
		})
	}
}

// TestHeaderLayout parses a written file by hand, as a reader in another language
// would, and checks it against the safetensors spec.
func TestHeaderLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tensors := map[string]*tensor.Dense{
		"fc.weight":    randDense(rng, 10, 3),
		"bn1.bias":     randDense(rng, 5),
		"conv1.weight": randDense(rng, 2, 3, 3, 3),
		"step":         tensor.New(tensor.FromScalar(float32(7))),
	}
	meta := map[string]string{"model": "resnet-20", "epoch": "12"}
	path := filepath.Join(t.TempDir(), "a.safetensors")
	if err := Write(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	header := raw[8 : 8+n]
	trimmed := bytes.TrimRight(header, " ")
	if pad := len(header) - len(trimmed); pad >= 8 {
		t.Errorf("%d bytes of padding, want fewer than 8", pad)
	}
	if !bytes.HasPrefix(header, []byte(`{"__metadata__":{"checksum":"sha256:`)) ||
		!bytes.Contains(header, []byte(`","epoch":"12","model":"resnet-20"},`)) {
		t.Errorf("header does not start with the sorted metadata: %.80s", header)
	}
	var generic map[string]any
	if err := json.Unmarshal(trimmed, &generic); err != nil {
		t.Fatalf("header is not JSON: %v", err)
	}
	if got, want := len(generic), len(tensors)+1; got != want {
		t.Errorf("header has %d keys, want %d", got, want)
	}
	gotMeta, _ := generic["__metadata__"].(map[string]any)
	if len(gotMeta) != 3 || gotMeta["model"] != "resnet-20" || gotMeta["epoch"] != "12" {
		t.Errorf("__metadata__ = %v", generic["__metadata__"])
	}
	data := raw[8+n:]
	var next float64
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		entry, ok := generic[name].(map[string]any)
		if !ok || len(entry) != 3 {
			t.Fatalf("%s: entry %v, want exactly dtype, shape, data_offsets", name, generic[name])
		}
		if entry["dtype"] != "F32" {
			t.Errorf("%s: dtype %v", name, entry["dtype"])
		}
		shape, _ := entry["shape"].([]any)
		wantShape := tensors[name].Shape()
		if len(shape) != len(wantShape) {
			t.Fatalf("%s: shape %v, want %v", name, shape, wantShape)
		}
		for i := range shape {
			if shape[i] != float64(wantShape[i]) {
				t.Errorf("%s: shape %v, want %v", name, shape, wantShape)
			}
		}
		off, _ := entry["data_offsets"].([]any)
		want := values(t, tensors[name])
		if len(off) != 2 || off[0] != next || off[1] != next+float64(4*len(want)) {
			t.Fatalf("%s: data_offsets %v, want [%v, %v] (names in order, contiguous)", name, off, next, next+float64(4*len(want)))
		}
		for i, v := range want {
			b := data[int(next)+4*i:]
			if got := binary.LittleEndian.Uint32(b); got != math.Float32bits(v) {
				t.Fatalf("%s: element %d has bits %#x, want %#x (little-endian F32)", name, i, got, math.Float32bits(v))
			}
		}
		next = off[1].(float64)
	}
	if int(next) != len(data) {
		t.Errorf("tensors cover %v bytes, data section has %d", next, len(data))
	}
}

// TestGoldenBytes pins the exact bytes of a tiny file, written out by hand from the spec.
func TestGoldenBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.safetensors")
	err := Write(path, map[string]*tensor.Dense{
		"b": tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{-2})),
		"a": tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, 0.5})),
	}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	// The checksum by hand from ChecksumKey's description: SHA-256 of the
	// canonical form, lengths and numbers as uint64 little-endian.
	le := func(v uint64) string { return string(binary.LittleEndian.AppendUint64(nil, v)) }
	str := func(s string) string { return le(uint64(len(s))) + s }
	dataA := sha256.Sum256([]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x3f})
	dataB := sha256.Sum256([]byte{0, 0, 0, 0xc0})
	canon := "deepres-checksum-1\n" + str("k") + str("v") + le(2) +
		str("a") + str("F32") + le(1) + le(2) + string(dataA[:]) +
		str("b") + str("F32") + le(1) + le(1) + string(dataB[:])
	sum := sha256.Sum256([]byte(canon))
	header := `{"__metadata__":{"checksum":"sha256:` + hex.EncodeToString(sum[:]) + `","k":"v"},` +
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}` + "      " // 218 bytes + 6 spaces = 224
	want := append([]byte{224, 0, 0, 0, 0, 0, 0, 0}, header...)
	want = append(want, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x3f, 0, 0, 0, 0xc0) // 1, 0.5, -2
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("file bytes\n got %q\nwant %q", got, want)
	}
}

func TestWriteIsDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tensors := map[string]*tensor.Dense{}
	meta := map[string]string{}
	for i := range 20 {
		name := string(rune('a'+i)) + ".weight"
		tensors[name] = randDense(rng, 3, i+1)
		meta[name] = name
	}
	dir := t.TempDir()
	var files [2][]byte
	for i := range files {
		path := filepath.Join(dir, "d.safetensors")
		if err := Write(path, tensors, meta); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = b
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two writes of the same tensors gave different files")
	}
}

func TestWriteMisusePanics(t *testing.T) {
	f64 := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1, 2}))
	ok := tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{1}))
	tests := []struct {
		name    string
		tensors map[string]*tensor.Dense
		meta    map[string]string
		want    string
	}{
		{"nil tensor", map[string]*tensor.Dense{"a": nil}, nil, `tensor "a" is nil`},
		{"float64", map[string]*tensor.Dense{"a": f64}, nil, "want float32"},
		{"reserved name", map[string]*tensor.Dense{"__metadata__": ok}, nil, "invalid tensor name"},
		{"bad UTF-8 name", map[string]*tensor.Dense{"\xff": ok}, nil, "invalid tensor name"},
		{"bad UTF-8 metadata", nil, map[string]string{"k": "\xfe"}, "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "checkpoint: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want one with %q", msg, tc.want)
				}
				if left, _ := os.ReadDir(dir); len(left) != 0 {
					t.Errorf("misuse left %d files behind", len(left))
				}
			}()
			Write(filepath.Join(dir, "x.safetensors"), tc.tensors, tc.meta)
		})
	}
}

// failAfter is a writer that fails once n bytes have gone through, like a full disk.
type failAfter struct {
	w io.Writer
	n int
}

var errDiskFull = errors.New("simulated: no space left on device")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n, _ := f.w.Write(p[:f.n])
		f.n = 0
		return n, errDiskFull
	}
	f.n -= len(p)
	return f.w.Write(p)
}

// TestWriteFailureKeepsOldFile simulates failures at each stage of an atomic write and
// checks that the previous checkpoint is untouched and no temporary file is left.
func TestWriteFailureKeepsOldFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	old := map[string]*tensor.Dense{"w": randDense(rng, 4, 4)}
	neu := map[string]*tensor.Dense{"w": randDense(rng, 64, 64)}
	tests := []struct {
		name string
		// write attempts the new checkpoint at path and must fail.
		write func(t *testing.T, dir, path string) error
	}{
		{"write fails mid-file", func(t *testing.T, dir, path string) error {
			entries := prepare(neu)
			header := encodeHeader(entries, nil)
			return atomicfile.Write(path, func(w io.Writer) error {
				return encode(&failAfter{w: w, n: 1000}, header, entries)
			})
		}},
		{"read-only folder", func(t *testing.T, dir, path string) error {
			if os.Geteuid() == 0 {
				t.Skip("root ignores folder permissions; the mid-file failure case covers atomicity")
			}
			if err := os.Chmod(dir, 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
			return Write(path, neu, nil)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "ckpt.safetensors")
			if err := Write(path, old, map[string]string{"epoch": "1"}); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.write(t, dir, path); err == nil {
				t.Fatal("write succeeded, want an error")
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("old checkpoint changed (err %v)", err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 1 {
				t.Errorf("folder holds %d entries, want only the old checkpoint", len(left))
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	ok := map[string]*tensor.Dense{"a": tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{1}))}
	t.Run("missing folder", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "no", "such", "c.safetensors")
		err := Write(path, ok, nil)
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want one naming %s and wrapping ErrNotExist", err, path)
		}
	})
	t.Run("path is a folder", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "c.safetensors")
		if err := os.MkdirAll(filepath.Join(path, "inside"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := Write(path, ok, nil); err == nil {
			t.Fatal("write over a folder succeeded")
		}
		if left, _ := os.ReadDir(dir); len(left) != 1 {
			t.Errorf("%d entries left in the folder, want only the folder in the way", len(left))
		}
		if _, err := os.Stat(filepath.Join(path, "inside")); err != nil {
			t.Errorf("the folder in the way was changed: %v", err)
		}
	})
	t.Run("overwrite", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "c.safetensors")
		for _, v := range []float32{1, 2} {
			d := tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{v}))
			if err := Write(path, map[string]*tensor.Dense{"a": d}, nil); err != nil {
				t.Fatal(err)
			}
		}
		f, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := values(t, f.Tensors["a"]); got[0] != 2 {
			t.Errorf("after overwrite a = %v, want 2", got)
		}
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("mode %v (err %v), want 0644", st.Mode(), err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 1 {
			t.Errorf("%d entries in the folder, want 1", len(left))
		}
	})
}
