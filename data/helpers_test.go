package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"testing"
)

// randomDataset returns n random h×w images with labels in 0..classes-1.
func randomDataset(r *rand.Rand, n, h, w, classes int) *Dataset {
	ds := &Dataset{Name: "random", N: n, H: h, W: w, Images: make([]uint8, n*3*h*w), Labels: make([]int32, n)}
	var word [8]byte
	for i := 0; i < len(ds.Images); i += 8 {
		binary.LittleEndian.PutUint64(word[:], r.Uint64())
		copy(ds.Images[i:], word[:])
	}
	for i := range ds.Labels {
		ds.Labels[i] = int32(r.IntN(classes))
	}
	for c := range classes {
		ds.Classes = append(ds.Classes, string(rune('a'+c/26))+string(rune('a'+c%26)))
	}
	return ds
}

// cifarRecords encodes ds in the CIFAR binary layout; CIFAR-100 records
// get the coarse label 7 (ignored by the reader).
func cifarRecords(ds *Dataset, kind Kind) []byte {
	var b bytes.Buffer
	for i := range ds.N {
		if kind == CIFAR100 {
			b.WriteByte(7)
		}
		b.WriteByte(byte(ds.Labels[i]))
		b.Write(ds.Image(i))
	}
	return b.Bytes()
}

type tarMember struct {
	name string
	data []byte // nil: a directory
}

func makeTar(t testing.TB, members []tarMember, gz bool) []byte {
	t.Helper()
	var out bytes.Buffer
	var zw *gzip.Writer
	tw := tar.NewWriter(&out)
	if gz {
		zw = gzip.NewWriter(&out)
		tw = tar.NewWriter(zw)
	}
	for _, m := range members {
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}
		if m.data == nil {
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if gz {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// matOptions choose how writeMat encodes an SVHN file.
type matOptions struct {
	compressed bool
	bigEndian  bool
	yType      uint32 // miDOUBLE or miUINT8
	yClass     uint32 // mxDOUBLE or mxUINT8
	yValues    []float64
	skipX      bool
	skipY      bool
	extraVar   bool // a variable "junk" before X, which the reader must skip
}

// writeMat writes ds as an SVHN format-2 MAT v5 file: X H×W×3×N uint8 in
// column-major order, y N×1 with the digit 0 stored as 10 (unless
// o.yValues gives the raw values).
func writeMat(ds *Dataset, o matOptions) []byte {
	var order binary.ByteOrder = binary.LittleEndian
	endian := "IM"
	if o.bigEndian {
		order, endian = binary.BigEndian, "MI"
	}
	var out bytes.Buffer
	hdr := make([]byte, 128)
	for i := range 116 {
		hdr[i] = ' '
	}
	copy(hdr, "MATLAB 5.0 MAT-file, written by a deepres test")
	order.PutUint16(hdr[124:], 0x0100)
	copy(hdr[126:], endian)
	out.Write(hdr)

	u32 := func(b *bytes.Buffer, v uint32) { binary.Write(b, order, v) }
	element := func(b *bytes.Buffer, typ uint32, data []byte) {
		if len(data) <= 4 && typ != miMATRIX {
			// the small data element format
			u32(b, uint32(len(data))<<16|typ)
			var pad [4]byte
			copy(pad[:], data)
			b.Write(pad[:])
			return
		}
		u32(b, typ)
		u32(b, uint32(len(data)))
		b.Write(data)
		for b.Len()%8 != 0 {
			b.WriteByte(0)
		}
	}
	matrix := func(class uint32, dims []int32, name string, dataType uint32, data []byte) []byte {
		var m bytes.Buffer
		flags := make([]byte, 8)
		order.PutUint32(flags, class)
		element(&m, miUINT32, flags)
		var d bytes.Buffer
		for _, v := range dims {
			binary.Write(&d, order, v)
		}
		element(&m, miINT32, d.Bytes())
		element(&m, miINT8, []byte(name))
		element(&m, dataType, data)
		return m.Bytes()
	}
	top := func(body []byte) {
		var e bytes.Buffer
		u32(&e, miMATRIX)
		u32(&e, uint32(len(body)))
		e.Write(body)
		if !o.compressed {
			out.Write(e.Bytes())
			return
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(e.Bytes())
		zw.Close()
		u32(&out, miCOMPRESSED)
		u32(&out, uint32(z.Len()))
		out.Write(z.Bytes())
	}

	if o.extraVar {
		top(matrix(mxDOUBLE, []int32{1, 3}, "junk", miDOUBLE, make([]byte, 24)))
	}
	if !o.skipX {
		h, w := ds.H, ds.W
		x := make([]byte, ds.N*3*h*w)
		for i := range ds.N {
			img := ds.Image(i)
			for c := range 3 {
				for xx := range w {
					for y := range h {
						x[i*3*h*w+y+h*(xx+w*c)] = img[(c*h+y)*w+xx]
					}
				}
			}
		}
		top(matrix(mxUINT8, []int32{int32(h), int32(w), 3, int32(ds.N)}, "X", miUINT8, x))
	}
	if o.skipY {
		return out.Bytes()
	}
	vals := o.yValues
	if vals == nil {
		for _, l := range ds.Labels {
			v := float64(l)
			if v == 0 {
				v = 10
			}
			vals = append(vals, v)
		}
	}
	var y bytes.Buffer
	for _, v := range vals {
		switch o.yType {
		case miUINT8:
			y.WriteByte(byte(v))
		default:
			binary.Write(&y, order, math.Float64bits(v))
		}
	}
	yType, yClass := o.yType, o.yClass
	if yType == 0 {
		yType, yClass = miDOUBLE, mxDOUBLE
	}
	top(matrix(yClass, []int32{int32(len(vals)), 1}, "y", yType, y.Bytes()))
	return out.Bytes()
}

// encodeImage encodes image i of ds as PNG or JPEG.
func encodeImage(t testing.TB, ds *Dataset, i int, format string) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, ds.W, ds.H))
	src, plane := ds.Image(i), ds.H*ds.W
	for y := range ds.H {
		for x := range ds.W {
			p := y*ds.W + x
			img.SetNRGBA(x, y, color.NRGBA{src[p], src[plane+p], src[2*plane+p], 255})
		}
	}
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// folderMembers lays ds out as <split>/<class>/<i>.<format>, image i being
// named so that the reader's order (class, then name) is dataset order
// within a class.
func folderMembers(t testing.TB, ds *Dataset, split, format string) []tarMember {
	var ms []tarMember
	for i := range ds.N {
		name := path.Join(split, ds.Classes[ds.Labels[i]], fmt3(i)+"."+format)
		ms = append(ms, tarMember{name: name, data: encodeImage(t, ds, i, format)})
	}
	return ms
}

func fmt3(i int) string {
	return string([]byte{byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}

// byClass returns ds's indices sorted by label, stable: the order in which
// ReadImageFolder returns a dataset written by folderMembers.
func byClass(ds *Dataset) []int {
	var idx []int
	for c := range ds.Classes {
		for i, l := range ds.Labels {
			if int(l) == c {
				idx = append(idx, i)
			}
		}
	}
	return idx
}
