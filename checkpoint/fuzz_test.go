package checkpoint

import (
	"bytes"
	"testing"

	"gorgonia.org/tensor"
)

// validFile is a small well-formed checkpoint for the seed corpus.
func validFile(t testing.TB) []byte {
	t.Helper()
	entries := prepare(map[string]*tensor.Dense{
		"conv1.weight": tensor.New(tensor.WithShape(2, 1, 1, 2), tensor.WithBacking([]float32{1, -2, 3.5, 0})),
		"fc.bias":      tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{0.25, 8, -1})),
		"step":         tensor.New(tensor.FromScalar(float32(5))),
	})
	var b bytes.Buffer
	if err := encode(&b, encodeHeader(entries, map[string]string{"model": "resnet-20"}), entries); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzRead feeds arbitrary bytes to the reader: it must never panic, and whatever it
// accepts must survive a write and a second read unchanged.
func FuzzRead(f *testing.F) {
	valid := validFile(f)
	f.Add(valid)
	f.Add(valid[:len(valid)-3]) // truncated data
	f.Add(valid[:20])           // truncated header
	f.Add(append(valid, 0, 0))  // trailing bytes
	f.Add(build(`{}`, nil))     // nothing
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decode(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		entries := prepare(got.Tensors)
		var again bytes.Buffer
		if err := encode(&again, encodeHeader(entries, got.Meta), entries); err != nil {
			t.Fatal(err)
		}
		back, err := decode(bytes.NewReader(again.Bytes()), int64(again.Len()))
		if err != nil {
			t.Fatalf("re-read of a rewritten file failed: %v", err)
		}
		equalFiles(t, got.Tensors, got.Meta, back)
	})
}
