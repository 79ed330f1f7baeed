package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/deepres/deepres/internal/atomicfile"

	"gorgonia.org/tensor"
)

// entry is one tensor ready to be written: its data flat, row-major.
type entry struct {
	name  string
	shape []int
	data  []float32
}

// Write stores tensors (each float32, any shape, scalars included) and meta in a
// safetensors file at path, names sorted so that the same inputs give the same bytes.
// The write is atomic: the file goes to a temporary file in the same folder, is
// synced and renamed over path, and the folder is synced; on any error the temporary
// file is removed and an existing file at path is left as it was.
//
// The metadata gets one more key, ChecksumKey, whose value Read verifies.
//
// Misuse panics before anything is written: a nil or non-float32 tensor, the
// reserved name "__metadata__", the reserved metadata key ChecksumKey, a name or
// metadata string that is not UTF-8.
func Write(path string, tensors map[string]*tensor.Dense, meta map[string]string) error {
	entries := prepare(tensors)
	for k, v := range meta {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			panic(fmt.Sprintf("checkpoint: metadata %q is not valid UTF-8", k))
		}
	}
	if _, ok := meta[ChecksumKey]; ok {
		panic(fmt.Sprintf("checkpoint: metadata key %q is reserved: Write computes it", ChecksumKey))
	}
	digests := make([]tensorDigest, len(entries))
	for i, e := range entries {
		digests[i] = tensorDigest{name: e.name, shape: e.shape, sum: digestF32(e.data)}
	}
	meta = maps.Clone(meta)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[ChecksumKey] = checksum(meta, digests)
	header := encodeHeader(entries, meta)
	// Atomic (temporary file, sync, rename, sync the folder): a crash or an
	// error never leaves a half-written checkpoint where the good one was.
	if err := atomicfile.Write(path, func(w io.Writer) error { return encode(w, header, entries) }); err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	return nil
}

// prepare checks the tensors and returns them sorted by name with flat data.
func prepare(tensors map[string]*tensor.Dense) []entry {
	entries := make([]entry, 0, len(tensors))
	for name, d := range tensors {
		if name == metadataKey || !utf8.ValidString(name) {
			panic(fmt.Sprintf("checkpoint: invalid tensor name %q", name))
		}
		data := flat(name, d) // first: it rejects a nil d
		entries = append(entries, entry{name: name, shape: []int(d.Shape().Clone()), data: data})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return entries
}

// flat returns d's elements in row-major order, copying only when d is a view.
func flat(name string, d *tensor.Dense) []float32 {
	if d == nil {
		panic(fmt.Sprintf("checkpoint: tensor %q is nil", name))
	}
	if d.Dtype() != tensor.Float32 {
		panic(fmt.Sprintf("checkpoint: tensor %q has dtype %v, want float32", name, d.Dtype()))
	}
	if d.IsScalar() {
		return []float32{d.ScalarValue().(float32)}
	}
	if d.IsMaterializable() {
		d = d.Materialize().(*tensor.Dense)
	}
	if d.RequiresIterator() {
		panic(fmt.Sprintf("checkpoint: tensor %q is not a plain row-major tensor (column-major or masked)", name))
	}
	n := d.Shape().TotalSize()
	data := d.Data().([]float32)
	if len(data) < n {
		panic(fmt.Sprintf("checkpoint: tensor %q has %d elements for shape %v", name, len(data), d.Shape()))
	}
	return data[:n]
}

// encodeHeader returns the JSON header, padded with spaces to a multiple of 8 bytes,
// laid out as the reference writer does: metadata first, then the tensors in data order,
// compact, no HTML escaping.
func encodeHeader(entries []entry, meta map[string]string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(meta) > 0 {
		b.WriteString(`"` + metadataKey + `":{`)
		for i, k := range slices.Sorted(maps.Keys(meta)) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, meta[k])
		}
		b.WriteByte('}')
	}
	var offset uint64
	for i, e := range entries {
		if i > 0 || len(meta) > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, e.name)
		b.WriteString(`:{"dtype":"` + dtypeF32 + `","shape":[`)
		for j, dim := range e.shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(dim))
		}
		end := offset + uint64(len(e.data))*bytesF32
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	b.WriteByte('}')
	for b.Len()%headerAlign != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic("checkpoint: encode string: " + err.Error()) // cannot happen for a string
	}
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

// encode writes the whole file: header length, header, then each tensor's
// little-endian float32 bytes, converted in chunks to bound the extra memory.
func encode(w io.Writer, header []byte, entries []entry) error {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	buf := make([]byte, 0, 64<<10)
	for _, e := range entries {
		for _, v := range e.data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return fmt.Errorf("tensor %q: %w", e.name, err)
				}
				buf = buf[:0]
			}
		}
	}
	_, err := w.Write(buf)
	return err
}
