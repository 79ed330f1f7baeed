package data

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers the JPEG decoder
	_ "image/png"  // registers the PNG decoder
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// maxImageSide bounds the width and height a file may declare before it is
// decoded, so that a corrupt header cannot ask for gigabytes.
const maxImageSide = 4096

// maxImageFileBytes bounds one encoded image read from an archive.
const maxImageFileBytes = 64 << 20

// imageFile is one encoded image found in a folder or an archive.
type imageFile struct {
	class, name string // name is the path shown in errors
	data        []byte
}

// folderScan collects a split's class folders and image files.
type folderScan struct {
	classes map[string]bool
	files   []imageFile
	maxSide int // the largest width or height accepted
}

func (s *folderScan) addClass(c string) { s.classes[c] = true }

// ReadImageFolder reads one split of an image-folder dataset. path is a
// directory holding <split>/<class>/<image>, or a .tar, .tar.gz or .tgz file
// holding the same (below any leading folders). Images are PNG or JPEG
// (.png, .jpg, .jpeg), all of the same size, any colour model (converted to
// RGB; alpha is dropped). Classes are the class folder names sorted, labels
// follow that order, and images are ordered by class then file name.
// Names starting with "." (macOS metadata) are ignored; any other file that
// is not an image where one belongs, an empty class folder, an image that
// does not decode or has another size is an error naming the file.
func ReadImageFolder(path, split string) (*Dataset, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read image folder: %w", err)
	}
	var s *folderScan
	if fi.IsDir() {
		s, err = scanDir(path, split)
	} else {
		s, err = scanTarFile(path, split)
	}
	if err != nil {
		return nil, err
	}
	return s.decode(path + " " + split)
}

func scanDir(root, split string) (*folderScan, error) {
	s := &folderScan{classes: make(map[string]bool), maxSide: maxImageSide}
	dir := filepath.Join(root, split)
	classes, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read image folder: %w", err)
	}
	for _, c := range classes {
		cpath := filepath.Join(dir, c.Name())
		if strings.HasPrefix(c.Name(), ".") {
			continue
		}
		if !c.IsDir() {
			return nil, fmt.Errorf("%s: unexpected file, want %s/<class>/<image>", cpath, split)
		}
		s.addClass(c.Name())
		entries, err := os.ReadDir(cpath)
		if err != nil {
			return nil, fmt.Errorf("read image folder: %w", err)
		}
		for _, e := range entries {
			fpath := filepath.Join(cpath, e.Name())
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if !e.Type().IsRegular() {
				return nil, fmt.Errorf("%s: not a regular file, want an image", fpath)
			}
			if err := checkImageName(fpath); err != nil {
				return nil, err
			}
			b, err := os.ReadFile(fpath)
			if err != nil {
				return nil, fmt.Errorf("read image folder: %w", err)
			}
			s.files = append(s.files, imageFile{class: c.Name(), name: fpath, data: b})
		}
	}
	return s, nil
}

func checkImageName(name string) error {
	switch strings.ToLower(path.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return nil
	}
	return fmt.Errorf("%s: unexpected file, want .png, .jpg or .jpeg", name)
}

func scanTarFile(file, split string) (*folderScan, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read image folder: %w", err)
	}
	defer fh.Close()
	var r io.Reader = bufio.NewReaderSize(fh, 1<<20)
	if strings.HasSuffix(file, ".gz") || strings.HasSuffix(file, ".tgz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		r = zr
	}
	return scanTar(r, file, split)
}

// scanTar collects <split>/<class>/<image> members of an uncompressed tar
// stream; members of other splits are passed over.
func scanTar(r io.Reader, file, split string) (*folderScan, error) {
	s := &folderScan{classes: make(map[string]bool), maxSide: maxImageSide}
	tr := tar.NewReader(r)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		name := strings.TrimPrefix(path.Clean(h.Name), "./")
		where := file + ":" + h.Name
		parts := strings.Split(name, "/")
		i := indexOf(parts, split)
		if i < 0 {
			continue
		}
		found = true
		rest := parts[i+1:]
		if len(rest) > 0 && strings.HasPrefix(rest[len(rest)-1], ".") {
			continue
		}
		switch {
		case h.Typeflag == tar.TypeDir && len(rest) <= 1:
			if len(rest) == 1 {
				s.addClass(rest[0])
			}
		case h.Typeflag == tar.TypeReg && len(rest) == 2:
			if err := checkImageName(where); err != nil {
				return nil, err
			}
			// ReadAll grows with what is really there, not with h.Size;
			// the limit stops a sparse member that expands to gigabytes.
			b, err := io.ReadAll(io.LimitReader(tr, maxImageFileBytes+1))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if len(b) > maxImageFileBytes {
				return nil, fmt.Errorf("%s: larger than %d bytes, too large for an image", where, maxImageFileBytes)
			}
			s.addClass(rest[0])
			s.files = append(s.files, imageFile{class: rest[0], name: where, data: b})
		default:
			return nil, fmt.Errorf("%s: unexpected member, want %s/<class>/<image>", where, split)
		}
	}
	if !found {
		return nil, fmt.Errorf("%s: no %s/ folder", file, split)
	}
	return s, nil
}

func indexOf(parts []string, s string) int {
	for i, p := range parts {
		if p == s {
			return i
		}
	}
	return -1
}

// decode sorts the scan and decodes every image into a Dataset, in
// parallel over GOMAXPROCS goroutines. The error reported, if any, is the
// one of the first bad image in order, whatever the scheduling.
func (s *folderScan) decode(name string) (*Dataset, error) {
	if len(s.classes) == 0 {
		return nil, fmt.Errorf("%s: no class folders", name)
	}
	ds := &Dataset{Name: name}
	for c := range s.classes {
		ds.Classes = append(ds.Classes, c)
	}
	sort.Strings(ds.Classes)
	label := make(map[string]int32)
	count := make(map[string]int)
	for i, c := range ds.Classes {
		label[c] = int32(i)
	}
	for _, f := range s.files {
		count[f.class]++
	}
	for _, c := range ds.Classes {
		if count[c] == 0 {
			return nil, fmt.Errorf("%s: empty class folder %s", name, c)
		}
	}
	sort.Slice(s.files, func(i, j int) bool {
		a, b := s.files[i], s.files[j]
		if a.class != b.class {
			return a.class < b.class
		}
		return a.name < b.name
	})
	// The first image fixes the size every other image must have.
	cfg, _, err := image.DecodeConfig(bytes.NewReader(s.files[0].data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.files[0].name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > s.maxSide || cfg.Height > s.maxSide {
		return nil, fmt.Errorf("%s: image size %dx%d out of range", s.files[0].name, cfg.Width, cfg.Height)
	}
	ds.N, ds.H, ds.W = len(s.files), cfg.Height, cfg.Width
	ds.Images = make([]uint8, ds.N*ds.ImageSize())
	ds.Labels = make([]int32, ds.N)
	errs := make([]error, ds.N)
	var wg sync.WaitGroup
	// A goroutine per 64 images at least: small sets are not worth the hand-off.
	workers := min(runtime.GOMAXPROCS(0), (ds.N+63)/64)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < ds.N; i += workers {
				f := s.files[i]
				ds.Labels[i] = label[f.class]
				errs[i] = decodeInto(ds.Image(i), ds.H, ds.W, f)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// decodeInto decodes f into dst (3×h×w, CHW), checking its size first.
func decodeInto(dst []uint8, h, w int, f imageFile) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(f.data))
	if err != nil {
		return fmt.Errorf("%s: %w", f.name, err)
	}
	if cfg.Width != w || cfg.Height != h {
		return fmt.Errorf("%s: wrong image size %dx%d, want %dx%d", f.name, cfg.Width, cfg.Height, w, h)
	}
	img, _, err := image.Decode(bytes.NewReader(f.data))
	if err != nil {
		return fmt.Errorf("%s: %w", f.name, err)
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return fmt.Errorf("%s: wrong image size %dx%d, want %dx%d", f.name, b.Dx(), b.Dy(), w, h)
	}
	toCHW(dst, img, h, w)
	return nil
}

// toCHW writes img's RGB planes into dst, with fast paths for what
// image/jpeg and image/png usually return.
func toCHW(dst []uint8, img image.Image, h, w int) {
	plane := h * w
	b := img.Bounds()
	set := func(y, x int, r, g, bl uint8) {
		p := y*w + x
		dst[p], dst[plane+p], dst[2*plane+p] = r, g, bl
	}
	switch m := img.(type) {
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				set(y, x, r, g, bl)
			}
		}
	case *image.Gray:
		for y := range h {
			for x := range w {
				v := m.Pix[m.PixOffset(b.Min.X+x, b.Min.Y+y)]
				set(y, x, v, v, v)
			}
		}
	case *image.NRGBA:
		for y := range h {
			for x := range w {
				p := m.Pix[m.PixOffset(b.Min.X+x, b.Min.Y+y):]
				set(y, x, p[0], p[1], p[2])
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				set(y, x, c.R, c.G, c.B)
			}
		}
	}
}
