package data

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// CIFAR images are 32×32 with 3 colour planes; a record is the label
// byte(s) followed by 1024 red, 1024 green and 1024 blue bytes
// (https://www.cs.toronto.edu/~kriz/cifar.html, "Binary version").
const cifarImageBytes = 3 * 32 * 32

// cifarFiles lists the record files of a split in the order they are concatenated.
func cifarFiles(kind Kind, split Split) ([]string, error) {
	switch {
	case kind == CIFAR10 && split == Train:
		return []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}, nil
	case kind == CIFAR10 && split == Test:
		return []string{"test_batch.bin"}, nil
	case kind == CIFAR100 && split == Train:
		return []string{"train.bin"}, nil
	case kind == CIFAR100 && split == Test:
		return []string{"test.bin"}, nil
	}
	return nil, fmt.Errorf("data: %s has no %s split", kind, split)
}

// cifarLabelBytes is 1 for CIFAR-10 (label) and 2 for CIFAR-100 (coarse, fine).
func cifarLabelBytes(kind Kind) int {
	switch kind {
	case CIFAR10:
		return 1
	case CIFAR100:
		return 2
	}
	panic(fmt.Sprintf("data: %s is not a CIFAR kind", kind))
}

// ReadCIFAR reads CIFAR binary records (kind CIFAR10 or CIFAR100) until EOF.
// CIFAR-100 images get their fine label. name is used in errors: a
// truncated record or a label out of range is an error naming it. It panics
// if kind is not a CIFAR kind.
func ReadCIFAR(r io.Reader, name string, kind Kind) (*Dataset, error) {
	lb := cifarLabelBytes(kind)
	classes := cifar10Classes
	if kind == CIFAR100 {
		classes = cifar100Classes
	}
	ds := &Dataset{Name: name, H: 32, W: 32, Classes: classes}
	rec := make([]byte, lb+cifarImageBytes)
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		n, err := io.ReadFull(br, rec)
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%s: truncated record %d (%d of %d bytes)", name, ds.N, n, len(rec))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", name, ds.N, err)
		}
		label := int(rec[lb-1]) // CIFAR-100: the fine label is the second byte
		if label >= len(classes) {
			return nil, fmt.Errorf("%s: record %d: label %d out of range 0..%d", name, ds.N, label, len(classes)-1)
		}
		ds.Images = append(ds.Images, rec[lb:]...)
		ds.Labels = append(ds.Labels, int32(label))
		ds.N++
	}
	if ds.N == 0 {
		return nil, fmt.Errorf("%s: no records", name)
	}
	return ds, nil
}

// cifarArchive and cifarFolder are the names in the publishers' releases.
func cifarArchive(kind Kind) string {
	if kind == CIFAR100 {
		return "cifar-100-binary.tar.gz"
	}
	return "cifar-10-binary.tar.gz"
}

func cifarFolder(kind Kind) string {
	if kind == CIFAR100 {
		return "cifar-100-binary"
	}
	return "cifar-10-batches-bin"
}

// loadCIFAR finds the split's record files in dir, in dir/<release folder>,
// or inside the release .tar.gz (dir/<archive>, or dir itself when it is
// the archive), and concatenates them in the published order.
func loadCIFAR(kind Kind, dir string, split Split) (*Dataset, error) {
	files, err := cifarFiles(kind, split)
	if err != nil {
		return nil, err
	}
	name := kind.String() + " " + split.String()
	for _, d := range []string{dir, filepath.Join(dir, cifarFolder(kind))} {
		_, err := os.Stat(filepath.Join(d, files[0]))
		if err == nil {
			return readCIFARFiles(kind, d, files, name)
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("load %s: %w", name, err) // e.g. permission denied: downloading would not help
		}
	}
	archive := dir
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		archive = filepath.Join(dir, cifarArchive(kind))
	}
	if _, err := os.Stat(archive); err != nil {
		return nil, fmt.Errorf("load %s: no %s in %s or %s, and no archive: %w%s",
			name, files[0], dir, filepath.Join(dir, cifarFolder(kind)), err, downloadHint(err))
	}
	return readCIFARArchive(kind, archive, files, name)
}

func readCIFARFiles(kind Kind, dir string, files []string, name string) (*Dataset, error) {
	var parts []*Dataset
	for _, f := range files {
		path := filepath.Join(dir, f)
		fh, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		ds, err := ReadCIFAR(fh, path, kind)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		parts = append(parts, ds)
	}
	return concat(name, parts), nil
}

// readCIFARArchive reads the wanted members of a CIFAR release .tar.gz,
// whatever their order in the archive.
func readCIFARArchive(kind Kind, archive string, files []string, name string) (*Dataset, error) {
	fh, err := os.Open(archive)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(fh, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("load %s: %s: %w", name, archive, err)
	}
	want := make(map[string]*Dataset)
	for _, f := range files {
		want[f] = nil
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("load %s: %s: %w", name, archive, err)
		}
		base := filepath.Base(h.Name)
		if _, ok := want[base]; !ok || h.Typeflag != tar.TypeReg || strings.HasPrefix(base, ".") {
			continue
		}
		ds, err := ReadCIFAR(tr, archive+":"+h.Name, kind)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		want[base] = ds
	}
	var parts []*Dataset
	for _, f := range files {
		if want[f] == nil {
			return nil, fmt.Errorf("load %s: %s has no member %s", name, archive, f)
		}
		parts = append(parts, want[f])
	}
	return concat(name, parts), nil
}

// concat joins datasets of the same image size and classes.
func concat(name string, parts []*Dataset) *Dataset {
	if len(parts) == 1 {
		parts[0].Name = name
		return parts[0]
	}
	out := &Dataset{Name: name, H: parts[0].H, W: parts[0].W, Classes: parts[0].Classes}
	total := 0
	for _, p := range parts {
		total += p.N
	}
	out.Images = make([]uint8, 0, total*out.ImageSize())
	out.Labels = make([]int32, 0, total)
	for _, p := range parts {
		out.Images = append(out.Images, p.Images...)
		out.Labels = append(out.Labels, p.Labels...)
		out.N += p.N
	}
	return out
}

// downloadHint suggests downloading only when the data are missing, not
// when they cannot be read or the path is not a folder.
func downloadHint(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return " (HINT: run with download enabled)"
	}
	return ""
}
