package checkpoint

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/bits"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"gorgonia.org/tensor"
)

// File is a checkpoint in memory: float32 tensors by name and the string metadata.
type File struct {
	Tensors map[string]*tensor.Dense
	Meta    map[string]string // without ChecksumKey
	// Checksum is the file's verified checksum (ChecksumKey), "" when it had none:
	// a file written before checksums existed, or by another program.
	Checksum string
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string { return slices.Sorted(maps.Keys(f.Tensors)) }

// hintF32 tells how to turn another dtype into the only one deepres reads.
const hintF32 = "HINT: convert it with PyTorch: from safetensors.torch import load_file, save_file; " +
	"save_file({k: v.float().contiguous() for k, v in load_file(IN).items()}, OUT)"

// hintTruncated is the likely cause when the file ends before its header says.
const hintTruncated = "the file is truncated; was the copy or the write interrupted? " +
	"HINT: use an earlier checkpoint, or re-run the training that wrote it"

// Read loads and validates the safetensors file at path. It never panics on a bad
// file: every problem (a header longer than the file or than 100 MB, malformed JSON,
// a dtype other than F32, a shape that does not match its byte range, overlapping,
// out-of-range or gapped offsets, trailing bytes, truncated data, a checksum that
// does not match, a value CheckValues refuses) is an error that names the file and,
// where one is at fault, the tensor.
func Read(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read checkpoint %s: not a regular file", path)
	}
	file, err := decode(bufio.NewReaderSize(f, 1<<20), st.Size())
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	return file, nil
}

// span is a validated header entry.
type span struct {
	name       string
	shape      []int
	n          int // elements
	begin, end uint64
}

// decode reads a whole safetensors stream of size bytes from r.
func decode(r io.Reader, size int64) (*File, error) {
	if size < 8 {
		return nil, fmt.Errorf("the file has %d bytes, fewer than the 8 of the header length: "+
			"not a safetensors file, or %s", size, hintTruncated)
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeaderLen {
		return nil, fmt.Errorf("header length %d is over the 100 MB limit: not a safetensors file, or a damaged one", n)
	}
	if n > uint64(size-8) {
		return nil, fmt.Errorf("header length %d is more than the %d bytes after it: not a safetensors file, or %s",
			n, size-8, hintTruncated)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	meta, spans, err := parseHeader(header)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if err := checkLayout(spans, uint64(size-8)-n); err != nil {
		return nil, err
	}
	file := &File{Tensors: make(map[string]*tensor.Dense, len(spans)), Meta: meta}
	buf := make([]byte, 64<<10)
	digests := make([]tensorDigest, 0, len(spans))
	datas := make([][]float32, 0, len(spans))
	for _, s := range spans { // sorted by offset and contiguous: one sequential pass
		data := make([]float32, s.n)
		h := sha256.New()
		for i := 0; i < s.n; {
			chunk := buf[:min(len(buf), (s.n-i)*bytesF32)]
			if _, err := io.ReadFull(r, chunk); err != nil {
				return nil, fmt.Errorf("tensor %q: %w; %s", s.name, err, hintTruncated)
			}
			h.Write(chunk)
			for j := 0; j < len(chunk); j += bytesF32 {
				data[i] = math.Float32frombits(binary.LittleEndian.Uint32(chunk[j:]))
				i++
			}
		}
		file.Tensors[s.name] = newDense(s.shape, data)
		datas = append(datas, data)
		digests = append(digests, tensorDigest{name: s.name, shape: s.shape, sum: sum(h)})
	}
	// The checksum first: a damaged file is told as such, not by the odd value
	// the damage made.
	if file.Checksum, err = verifyChecksum(meta, digests); err != nil {
		return nil, err
	}
	delete(meta, ChecksumKey)
	for i, s := range spans {
		if err := CheckValues(s.name, datas[i]); err != nil {
			return nil, fmt.Errorf("%w: not a state any run reaches without diverging; %s", err, hintBadValue)
		}
	}
	return file, nil
}

// hintBadValue is the likely cause of a value CheckValues refuses in a file that
// passed its checksum (or had none).
const hintBadValue = "the file was written so (by another program or an older deepres) or damaged before its checksum was made. " +
	"HINT: use an earlier checkpoint, or re-run the training that wrote it"

func newDense(shape []int, data []float32) *tensor.Dense {
	if len(shape) == 0 {
		return tensor.New(tensor.FromScalar(data[0]))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// parseHeader decodes the JSON header token by token, so that a duplicated name is
// caught (a plain map would keep the last one silently), and checks each entry alone.
// The returned spans are sorted by offset.
func parseHeader(h []byte) (map[string]string, []span, error) {
	if !utf8.Valid(h) {
		return nil, nil, errors.New("not valid UTF-8: not a safetensors file, or a damaged one")
	}
	if len(h) == 0 || h[0] != '{' {
		return nil, nil, errors.New("does not start with '{': not a safetensors file")
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("malformed JSON: %w", err)
	}
	meta := map[string]string{}
	seen := map[string]bool{}
	var spans []span
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("malformed JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("malformed JSON: %v where a name should be", tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("name %q appears twice", name)
		}
		seen[name] = true
		if name == metadataKey {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("%s must map strings to strings: %w", metadataKey, err)
			}
			if meta == nil { // "__metadata__": null
				meta = map[string]string{}
			}
			continue
		}
		var info tensorInfo
		if err := dec.Decode(&info); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: malformed entry: %w", name, err)
		}
		s, err := checkInfo(name, info)
		if err != nil {
			return nil, nil, err
		}
		spans = append(spans, s)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, fmt.Errorf("malformed JSON: %w", err)
	}
	// Only the spaces of the padding may follow the object.
	if rest := h[dec.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return nil, nil, fmt.Errorf("%d unexpected bytes after the JSON object", len(rest))
	}
	slices.SortFunc(spans, func(a, b span) int {
		if a.begin != b.begin {
			return cmpU64(a.begin, b.begin)
		}
		if a.end != b.end {
			return cmpU64(a.end, b.end)
		}
		return strings.Compare(a.name, b.name)
	})
	return meta, spans, nil
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// checkInfo validates one entry on its own: fields present, F32, a non-empty shape
// whose byte size is exactly its offset range.
func checkInfo(name string, info tensorInfo) (span, error) {
	switch {
	case info.Dtype == nil:
		return span{}, fmt.Errorf("tensor %q: no dtype", name)
	case info.Shape == nil:
		return span{}, fmt.Errorf("tensor %q: no shape", name)
	case info.DataOffsets == nil:
		return span{}, fmt.Errorf("tensor %q: no data_offsets", name)
	}
	if dt := *info.Dtype; dt != dtypeF32 {
		if otherDtypes[dt] {
			return span{}, fmt.Errorf("tensor %q has dtype %s; deepres reads only F32. %s", name, dt, hintF32)
		}
		return span{}, fmt.Errorf("tensor %q has unknown dtype %q (deepres reads only F32)", name, dt)
	}
	off := *info.DataOffsets
	if len(off) != 2 {
		return span{}, fmt.Errorf("tensor %q: data_offsets has %d numbers, want [begin, end]", name, len(off))
	}
	begin, end := off[0], off[1]
	if end < begin {
		return span{}, fmt.Errorf("tensor %q: data_offsets [%d, %d] end before they begin", name, begin, end)
	}
	// The element count, with overflow caught: a huge shape must not wrap around
	// to a small byte size that happens to match.
	numel := uint64(1)
	shape := make([]int, len(*info.Shape))
	for i, d := range *info.Shape {
		hi, lo := bits.Mul64(numel, d)
		if hi != 0 || d > math.MaxInt32 {
			return span{}, fmt.Errorf("tensor %q: shape %v is too large", name, *info.Shape)
		}
		numel = lo
		shape[i] = int(d)
	}
	if numel == 0 {
		// gorgonia tensors cannot hold zero elements, and no deepres model has such a tensor.
		return span{}, fmt.Errorf("tensor %q: shape %v has no elements; deepres cannot hold empty tensors", name, shape)
	}
	if hi, nbytes := bits.Mul64(numel, bytesF32); hi != 0 || nbytes != end-begin {
		return span{}, fmt.Errorf("tensor %q: shape %v of F32 needs %d×4 bytes but data_offsets [%d, %d] hold %d",
			name, shape, numel, begin, end, end-begin)
	}
	return span{name: name, shape: shape, n: int(numel), begin: begin, end: end}, nil
}

// checkLayout checks that the spans, sorted by offset, tile the dataLen bytes of the
// data section exactly, as the safetensors spec requires: no overlap, no gap, nothing
// past the end (a truncated file) and nothing after the last tensor.
func checkLayout(spans []span, dataLen uint64) error {
	var next uint64
	prev := ""
	for _, s := range spans {
		switch {
		case s.begin < next:
			return fmt.Errorf("tensors %q and %q overlap (data_offsets %d < %d): a damaged file", prev, s.name, s.begin, next)
		case s.begin > next:
			return fmt.Errorf("bytes [%d, %d) before tensor %q belong to no tensor: a damaged file", next, s.begin, s.name)
		case s.end > dataLen:
			return fmt.Errorf("tensor %q ends at byte %d of the data but the file holds %d: %s",
				s.name, s.end, dataLen, hintTruncated)
		}
		next, prev = s.end, s.name
	}
	if next != dataLen {
		return fmt.Errorf("%d bytes of trailing data after the last tensor: not written by deepres, or damaged", dataLen-next)
	}
	return nil
}
