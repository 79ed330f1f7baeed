package checkpoint

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// build lays out a safetensors file from a raw header (not padded, so that unaligned
// headers can be tested too) and raw data bytes.
func build(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// withLength is build with a header length field that lies.
func withLength(n uint64, rest string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

func writeRaw(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const a8 = `"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`

func TestReadInvalid(t *testing.T) {
	zeros := func(n int) []byte { return make([]byte, n) }
	tests := []struct {
		name string
		file []byte
		want []string // every one must appear in the error
	}{
		{"empty file", nil, []string{"fewer than the 8", "truncated"}},
		{"seven bytes", zeros(7), []string{"fewer than the 8"}},
		{"header longer than file", withLength(1000, "{}"), []string{"header length 1000", "truncated"}},
		{"header over 100 MB", withLength(100_000_001, "{}"), []string{"100 MB"}},
		{"header length wraps", withLength(1<<63+8, "{}"), []string{"100 MB"}},
		{"malformed JSON", build(`{"a":{"dtype":`, nil), []string{`"a"`, "malformed"}},
		{"unclosed object", build(`{`+a8, zeros(8)), []string{"malformed JSON"}},
		{"not an object", build(`[1, 2]  `, nil), []string{"does not start with '{'"}},
		{"empty header", build(``, nil), []string{"does not start with '{'"}},
		{"not UTF-8", build("{\"\xff\":{}}", nil), []string{"UTF-8"}},
		{"bytes after the object", build(`{} x`, nil), []string{"unexpected bytes after"}},
		{"second object", build(`{}{}`, nil), []string{"unexpected bytes after"}},
		{"F16", build(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, zeros(4)),
			[]string{`"w"`, "dtype F16", "HINT: convert", ".float()"}},
		{"unknown dtype", build(`{"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}`, zeros(8)),
			[]string{`"w"`, `unknown dtype "Q7"`}},
		{"no dtype", build(`{"w":{"shape":[2],"data_offsets":[0,8]}}`, zeros(8)), []string{`"w"`, "no dtype"}},
		{"no shape", build(`{"w":{"dtype":"F32","data_offsets":[0,8]}}`, zeros(8)), []string{`"w"`, "no shape"}},
		{"no offsets", build(`{"w":{"dtype":"F32","shape":[2]}}`, zeros(8)), []string{`"w"`, "no data_offsets"}},
		{"entry is null", build(`{"w":null}`, nil), []string{`"w"`, "no dtype"}},
		{"entry is a number", build(`{"w":3}`, nil), []string{`"w"`, "malformed entry"}},
		{"negative dimension", build(`{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, zeros(8)),
			[]string{`"w"`, "malformed entry"}},
		{"fractional offset", build(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}}`, zeros(8)),
			[]string{`"w"`, "malformed entry"}},
		{"three offsets", build(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}`, zeros(8)),
			[]string{`"w"`, "3 numbers"}},
		{"shape does not match offsets", build(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, zeros(8)),
			[]string{`"w"`, "shape [3]", "hold 8"}},
		{"end before begin", build(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, zeros(8)),
			[]string{`"w"`, "end before"}},
		{"shape overflows", build(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil),
			[]string{`"w"`, "too large"}},
		{"product wraps to the byte count", build(`{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647,2],"data_offsets":[0,8]}}`, zeros(8)),
			[]string{`"w"`}},
		{"empty tensor", build(`{"w":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}`, nil),
			[]string{`"w"`, "no elements"}},
		{"duplicate name", build(`{`+a8+`,`+a8+`}`, zeros(8)), []string{`"a"`, "twice"}},
		{"metadata not strings", build(`{"__metadata__":{"epoch":3}}`, nil), []string{"__metadata__", "strings"}},
		{"overlap", build(`{`+a8+`,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, zeros(12)),
			[]string{`"a"`, `"b"`, "overlap"}},
		{"gap", build(`{`+a8+`,"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}`, zeros(20)),
			[]string{`"b"`, "belong to no tensor"}},
		{"gap at start", build(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, zeros(8)),
			[]string{`"b"`, "[0, 4)"}},
		{"truncated data", build(`{`+a8+`}`, zeros(5)), []string{`"a"`, "ends at byte 8", "truncated", "HINT"}},
		{"offset past the end", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[1000,1004]}}`, zeros(4)),
			[]string{`"a"`, "belong to no tensor"}},
		{"trailing garbage", build(`{`+a8+`}`, zeros(12)), []string{"4 bytes of trailing data"}},
		{"data without tensors", build(`{}`, zeros(3)), []string{"3 bytes of trailing data"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeRaw(t, tc.file)
			f, err := Read(path)
			if err == nil {
				t.Fatalf("Read succeeded with %d tensors, want an error", len(f.Tensors))
			}
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestReadValidVariants accepts what the spec allows but our writer does not produce.
func TestReadValidVariants(t *testing.T) {
	le := func(v ...uint32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, x)
		}
		return b
	}
	tests := []struct {
		name  string
		file  []byte
		check func(t *testing.T, f *File)
	}{
		{"unpadded header, entries out of data order, unknown field",
			build(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12],"extra":1},`+a8+`}`, le(0x3f800000, 0, 0xc0000000)),
			func(t *testing.T, f *File) {
				if got := values(t, f.Tensors["b"]); got[0] != -2 {
					t.Errorf("b = %v, want [-2]", got)
				}
				if got := values(t, f.Tensors["a"]); got[0] != 1 || got[1] != 0 {
					t.Errorf("a = %v, want [1 0]", got)
				}
			}},
		{"empty header object, no data", build(`{}      `, nil), func(t *testing.T, f *File) {
			if len(f.Tensors) != 0 || len(f.Meta) != 0 {
				t.Errorf("got %v / %v, want nothing", f.Names(), f.Meta)
			}
		}},
		{"null metadata, scalar tensor", build(`{"__metadata__":null,"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, le(0x40400000)),
			func(t *testing.T, f *File) {
				s := f.Tensors["s"]
				if s == nil || !s.IsScalar() || values(t, s)[0] != 3 {
					t.Errorf("s = %v, want the scalar 3", s)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Read(writeRaw(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, f)
		})
	}
}

func TestReadNotAFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Read(folder) error %v, want 'not a regular file'", err)
	}
	missing := filepath.Join(dir, "missing.safetensors")
	if _, err := Read(missing); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Read(missing) error %v, want ErrNotExist naming the path", err)
	}
}
