package data

import (
	"bufio"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// A minimal MATLAB Level 5 MAT-file reader, enough for SVHN format 2
// (http://ufldl.stanford.edu/housenumbers/): X is an H×W×3×N uint8 array
// and y an N×1 numeric array, both possibly inside miCOMPRESSED (zlib)
// elements. Layout from MathWorks' "MAT-File Format" (matfile_format.pdf).

// Data element types.
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15
)

// Array classes (the low byte of the array flags).
const (
	mxDOUBLE = 6
	mxUINT64 = 15
	mxUINT8  = 9
)

// maxSVHNBytes bounds the image bytes a file may declare before we
// allocate them; SVHN's largest split (extra) has 531,131·3072 ≈ 1.6 GB.
const maxSVHNBytes = 4 << 30

type matReader struct {
	order binary.ByteOrder
	name  string
}

// ReadSVHNMat reads an SVHN format-2 .mat file (MATLAB v5, compressed or
// not). The images are converted from MATLAB's column-major H×W×3×N to
// N×3×H×W; labels 1..9 stay, 10 becomes 0 (the digit). name is used in
// errors, which say what is wrong (not v5, truncated, wrong size, label out
// of range, missing variable).
func ReadSVHNMat(r io.Reader, name string) (*Dataset, error) {
	return readSVHNMat(r, name, maxSVHNBytes)
}

func readSVHNMat(r io.Reader, name string, maxBytes int) (*Dataset, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var hdr [128]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("%s: reading MAT header: %w", name, err)
	}
	text := string(hdr[:116])
	if strings.HasPrefix(text, "MATLAB 7.3") {
		return nil, fmt.Errorf("%s: MATLAB v7.3 (HDF5) file, want v5", name)
	}
	if !strings.HasPrefix(text, "MATLAB 5.0 MAT-file") {
		return nil, fmt.Errorf("%s: not a MATLAB v5 MAT-file", name)
	}
	m := &matReader{name: name}
	switch string(hdr[126:128]) {
	case "IM":
		m.order = binary.LittleEndian
	case "MI":
		m.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s: bad MAT endian indicator %q", name, hdr[126:128])
	}
	ds := &Dataset{Name: name, Classes: svhnClasses}
	var labels []int32
	for {
		typ, n, small, err := m.tag(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if small != nil {
			continue // a small element at top level carries no variable
		}
		body := io.LimitReader(br, int64(n))
		switch typ {
		case miCOMPRESSED:
			zr, err := zlib.NewReader(body)
			if err != nil {
				return nil, fmt.Errorf("%s: compressed element: %w", name, err)
			}
			ityp, in, _, err := m.tag(zr)
			if err != nil {
				return nil, fmt.Errorf("%s: compressed element: %w", name, err)
			}
			if ityp == miMATRIX {
				if err := m.matrix(io.LimitReader(zr, int64(in)), in, ds, &labels, maxBytes); err != nil {
					return nil, err
				}
			}
		case miMATRIX:
			if err := m.matrix(body, n, ds, &labels, maxBytes); err != nil {
				return nil, err
			}
		}
		// Skip what the variable left unread (other variables, padding).
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	switch {
	case ds.Images == nil:
		return nil, fmt.Errorf("%s: no variable X", name)
	case labels == nil:
		return nil, fmt.Errorf("%s: no variable y", name)
	case len(labels) != ds.N:
		return nil, fmt.Errorf("%s: %d labels for %d images", name, len(labels), ds.N)
	}
	ds.Labels = labels
	return ds, nil
}

// tag reads an element tag. A small element (data in the tag's last four
// bytes) is returned as small; otherwise the caller reads n bytes of data.
func (m *matReader) tag(r io.Reader) (typ, n uint32, small []byte, err error) {
	var b [8]byte
	if k, err := io.ReadFull(r, b[:]); err != nil {
		if err == io.EOF {
			return 0, 0, nil, io.EOF
		}
		return 0, 0, nil, fmt.Errorf("%s: truncated element tag (%d of 8 bytes)", m.name, k)
	}
	w := m.order.Uint32(b[:4])
	if w>>16 != 0 {
		n = w >> 16
		if n > 4 {
			return 0, 0, nil, fmt.Errorf("%s: small element of %d bytes", m.name, n)
		}
		return w & 0xffff, n, b[4 : 4+n], nil
	}
	return w, m.order.Uint32(b[4:]), nil, nil
}

// sub reads a whole sub-element of a matrix (bounded by what r holds)
// and the padding to the next 8-byte boundary.
func (m *matReader) sub(r io.Reader, what string) (typ uint32, data []byte, err error) {
	typ, n, small, err := m.tag(r)
	if err == io.EOF {
		return 0, nil, fmt.Errorf("%s: truncated matrix: no %s", m.name, what)
	}
	if err != nil {
		return 0, nil, err
	}
	if small != nil {
		return typ, small, nil
	}
	// ReadAll grows with what is really there, so a lying size cannot
	// make us allocate more than the file holds.
	data, err = io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return 0, nil, fmt.Errorf("%s: truncated or corrupt %s: %w", m.name, what, err)
	}
	if len(data) != int(n) {
		return 0, nil, fmt.Errorf("%s: truncated %s (%d of %d bytes)", m.name, what, len(data), n)
	}
	if err := skipPad(r, n); err != nil {
		return 0, nil, fmt.Errorf("%s: %s padding: %w", m.name, what, err)
	}
	return typ, data, nil
}

func skipPad(r io.Reader, n uint32) error {
	pad := (8 - n%8) % 8
	_, err := io.CopyN(io.Discard, r, int64(pad))
	return err
}

// matrix reads one miMATRIX body of n bytes; X and y are decoded into ds
// and labels, other variables are left for the caller to skip.
func (m *matReader) matrix(r io.Reader, n uint32, ds *Dataset, labels *[]int32, maxBytes int) error {
	if n == 0 {
		return nil // an empty array
	}
	typ, flags, err := m.sub(r, "array flags")
	if err != nil {
		return err
	}
	if typ != miUINT32 || len(flags) != 8 {
		return fmt.Errorf("%s: bad array flags element (type %d, %d bytes)", m.name, typ, len(flags))
	}
	f := m.order.Uint32(flags)
	class, complex := f&0xff, f&0x800 != 0
	typ, dimb, err := m.sub(r, "dimensions")
	if err != nil {
		return err
	}
	if typ != miINT32 || len(dimb)%4 != 0 || len(dimb) < 8 {
		return fmt.Errorf("%s: bad dimensions element (type %d, %d bytes)", m.name, typ, len(dimb))
	}
	dims := make([]int, len(dimb)/4)
	for i := range dims {
		dims[i] = int(int32(m.order.Uint32(dimb[4*i:])))
		if dims[i] < 0 {
			return fmt.Errorf("%s: negative dimension %d", m.name, dims[i])
		}
	}
	_, nameb, err := m.sub(r, "array name")
	if err != nil {
		return err
	}
	switch string(nameb) {
	case "X":
		if ds.Images != nil {
			return fmt.Errorf("%s: variable X appears twice", m.name)
		}
		if class != mxUINT8 || complex {
			return fmt.Errorf("%s: X has class %d, want uint8 (class %d)", m.name, class, mxUINT8)
		}
		return m.images(r, dims, ds, maxBytes)
	case "y":
		if *labels != nil {
			return fmt.Errorf("%s: variable y appears twice", m.name)
		}
		if class < mxDOUBLE || class > mxUINT64 || complex {
			return fmt.Errorf("%s: y has class %d, want a real numeric array", m.name, class)
		}
		l, err := m.labels(r, dims)
		if err != nil {
			return err
		}
		*labels = l
	}
	return nil
}

// images streams X (H×W×3×N, column-major) into ds as N×3×H×W.
func (m *matReader) images(r io.Reader, dims []int, ds *Dataset, maxBytes int) error {
	if len(dims) != 4 || dims[2] != 3 || dims[0] == 0 || dims[1] == 0 || dims[0] > 1024 || dims[1] > 1024 {
		return fmt.Errorf("%s: X has dimensions %v, want H×W×3×N", m.name, dims)
	}
	h, w, num := dims[0], dims[1], dims[3]
	if int64(3*h*w)*int64(num) > int64(maxBytes) {
		return fmt.Errorf("%s: X declares %d×%d×3×%d bytes, more than the %d allowed", m.name, h, w, num, maxBytes)
	}
	typ, nbytes, small, err := m.tag(r)
	if err != nil {
		if err == io.EOF {
			return fmt.Errorf("%s: truncated matrix: no X data", m.name)
		}
		return err
	}
	size := 3 * h * w
	if small != nil || typ != miUINT8 || int64(nbytes) != int64(size)*int64(num) {
		return fmt.Errorf("%s: X data has type %d and %d bytes, want uint8 and %d", m.name, typ, nbytes, size*num)
	}
	ds.H, ds.W, ds.N = h, w, num
	ds.Images = make([]uint8, size*num)
	buf := make([]byte, size)
	for i := range num {
		if k, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("%s: truncated X at image %d (%d of %d bytes)", m.name, i, k, size)
		}
		// Column-major: pixel (row y, column x, channel c) of image i is at
		// y + h·(x + w·c) within the image's bytes.
		dst := ds.Images[i*size : (i+1)*size]
		for c := range 3 {
			for x := range w {
				col := buf[h*(x+w*c):]
				for y := range h {
					dst[(c*h+y)*w+x] = col[y]
				}
			}
		}
	}
	return skipPad(r, nbytes)
}

// labels reads y (N×1 or 1×N, any numeric storage type) and maps SVHN's
// label 10 to the digit 0.
func (m *matReader) labels(r io.Reader, dims []int) ([]int32, error) {
	if len(dims) != 2 || (dims[0] != 1 && dims[1] != 1) {
		return nil, fmt.Errorf("%s: y has dimensions %v, want N×1", m.name, dims)
	}
	num := dims[0] * dims[1]
	typ, data, err := m.sub(r, "y data")
	if err != nil {
		return nil, err
	}
	vals, err := m.numbers(typ, data)
	if err != nil {
		return nil, fmt.Errorf("%s: y: %w", m.name, err)
	}
	if len(vals) != num {
		return nil, fmt.Errorf("%s: y holds %d values, want %d", m.name, len(vals), num)
	}
	out := make([]int32, num)
	for i, v := range vals {
		if v != math.Trunc(v) || v < 1 || v > 10 {
			return nil, fmt.Errorf("%s: y[%d] = %v, want a label 1..10", m.name, i, v)
		}
		out[i] = int32(v) % 10 // SVHN: 10 is the digit 0
	}
	return out, nil
}

// numbers decodes numeric element data of type typ.
func (m *matReader) numbers(typ uint32, b []byte) ([]float64, error) {
	size := map[uint32]int{miINT8: 1, miUINT8: 1, miINT16: 2, miUINT16: 2, miINT32: 4, miUINT32: 4,
		miSINGLE: 4, miDOUBLE: 8, miINT64: 8, miUINT64: 8}[typ]
	if size == 0 {
		return nil, fmt.Errorf("unsupported data type %d", typ)
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of type %d values", len(b), typ)
	}
	out := make([]float64, len(b)/size)
	o := m.order
	for i := range out {
		p := b[i*size:]
		switch typ {
		case miINT8:
			out[i] = float64(int8(p[0]))
		case miUINT8:
			out[i] = float64(p[0])
		case miINT16:
			out[i] = float64(int16(o.Uint16(p)))
		case miUINT16:
			out[i] = float64(o.Uint16(p))
		case miINT32:
			out[i] = float64(int32(o.Uint32(p)))
		case miUINT32:
			out[i] = float64(o.Uint32(p))
		case miSINGLE:
			out[i] = float64(math.Float32frombits(o.Uint32(p)))
		case miDOUBLE:
			out[i] = math.Float64frombits(o.Uint64(p))
		case miINT64:
			out[i] = float64(int64(o.Uint64(p)))
		case miUINT64:
			out[i] = float64(o.Uint64(p))
		}
	}
	return out, nil
}
