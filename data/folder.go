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

// maxImageFileBytes bounds one encoded image read from a folder or an
// archive; maxEncodedBytes bounds it further by the size its header declares.
const maxImageFileBytes = 64 << 20

// maxEncodedBytes is the most bytes a w×h image file may take: raw RGBA
// with PNG's filter bytes is 4·w·h + h; the rest allows generous metadata.
func maxEncodedBytes(w, h int) int64 {
	return min(maxImageFileBytes, 1<<20+int64(8*w*h))
}

// MaxDecodedBytes bounds the pixels of one split of an image-folder
// dataset, which is held in memory: 16 GiB, over five times ImageNet 32×32's
// training set. A set whose headers add up to more is refused while it is
// scanned, before its pixels are decoded.
var MaxDecodedBytes int64 = 16 << 30

// imageFile is one image found in a folder or an archive: its encoded
// bytes until a worker decodes them into pix (3×h×w, CHW) or into err.
type imageFile struct {
	class, name string // name is the path shown in errors
	data        []byte
	w, h        int
	pix         []uint8
	err         error
}

// folderScan collects a split's class folders and images, decoding each
// image on a pool of workers as soon as it is read, so that the encoded
// files are never all held at once (an archive of compressible members
// cannot grow memory beyond the pixels its headers declare).
type folderScan struct {
	classes map[string]bool
	files   []*imageFile
	maxSide int // the largest width or height accepted
	decoded int64
	jobs    chan *imageFile
	wg      sync.WaitGroup
}

func newScan(maxSide int) *folderScan {
	workers := runtime.GOMAXPROCS(0)
	s := &folderScan{classes: make(map[string]bool), maxSide: maxSide, jobs: make(chan *imageFile, 2*workers)}
	for range workers {
		s.wg.Go(func() {
			for f := range s.jobs {
				f.pix = make([]uint8, 3*f.w*f.h)
				if f.err = decodeInto(f.pix, f.h, f.w, *f); f.err != nil {
					f.pix = nil
				}
				f.data = nil
			}
		})
	}
	return s
}

// finish waits for the workers. Idempotent.
func (s *folderScan) finish() {
	if s.jobs != nil {
		close(s.jobs)
		s.wg.Wait()
		s.jobs = nil
	}
}

func (s *folderScan) addClass(c string) { s.classes[c] = true }

// addImage reads one image file from r: its header first (format, size),
// checked against the limits, then the rest, bounded by what that size can
// need; the worker pool decodes it.
func (s *folderScan) addImage(class, name string, r io.Reader) error {
	var head bytes.Buffer
	cfg, _, err := image.DecodeConfig(io.TeeReader(io.LimitReader(r, maxImageFileBytes), &head))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > s.maxSide || cfg.Height > s.maxSide {
		return fmt.Errorf("%s: image size %dx%d out of range (1 to %d pixels a side)", name, cfg.Width, cfg.Height, s.maxSide)
	}
	s.decoded += int64(3 * cfg.Width * cfg.Height)
	if s.decoded > MaxDecodedBytes {
		return fmt.Errorf("%s: the images up to here decode to more than %d bytes, more than deepres holds in memory", name, MaxDecodedBytes)
	}
	limit := maxEncodedBytes(cfg.Width, cfg.Height)
	rest, err := io.ReadAll(io.LimitReader(r, limit+1-int64(head.Len())))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if int64(head.Len()+len(rest)) > limit {
		return fmt.Errorf("%s: more than %d bytes for a %dx%d image", name, limit, cfg.Width, cfg.Height)
	}
	f := &imageFile{class: class, name: name, data: append(head.Bytes(), rest...), w: cfg.Width, h: cfg.Height}
	s.addClass(class)
	s.files = append(s.files, f)
	s.jobs <- f
	return nil
}

// ReadImageFolder reads one split of an image-folder dataset. path is a
// directory holding <split>/<class>/<image>, or a .tar, .tar.gz or .tgz file
// holding the same (below any leading folders). Images are PNG or JPEG
// (.png, .jpg, .jpeg), all of the same size, any colour model (converted to
// RGB; alpha is dropped). Classes are the class folder names sorted, labels
// follow that order, and images are ordered by class then file name.
// Names starting with "." (macOS metadata) are ignored; symbolic links are
// followed in folders; any other file that is not an image where one
// belongs, an archive member whose path leaves the archive (.. or
// absolute), an empty class folder, an image that does not decode or has
// another size than most is an error naming the file.
func ReadImageFolder(path, split string) (*Dataset, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read image folder: %w", err)
	}
	s := newScan(maxImageSide)
	defer s.finish()
	if fi.IsDir() {
		err = s.scanDir(path, split)
	} else {
		err = s.scanTarFile(path, split)
	}
	if err != nil {
		return nil, err
	}
	return s.decode(path + " " + split)
}

func (s *folderScan) scanDir(root, split string) error {
	dir := filepath.Join(root, split)
	classes, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read image folder: %w", err)
	}
	for _, c := range classes {
		cpath := filepath.Join(dir, c.Name())
		if strings.HasPrefix(c.Name(), ".") {
			continue
		}
		st, err := os.Stat(cpath) // follows a symbolic link
		if err != nil {
			return fmt.Errorf("read image folder: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("%s: unexpected file, want %s/<class>/<image>", cpath, split)
		}
		s.addClass(c.Name())
		entries, err := os.ReadDir(cpath)
		if err != nil {
			return fmt.Errorf("read image folder: %w", err)
		}
		for _, e := range entries {
			fpath := filepath.Join(cpath, e.Name())
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if st, err := os.Stat(fpath); err != nil || !st.Mode().IsRegular() {
				return fmt.Errorf("%s: not a regular file, want an image", fpath)
			}
			if err := checkImageName(fpath); err != nil {
				return err
			}
			if err := s.addImageFile(c.Name(), fpath); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *folderScan) addImageFile(class, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read image folder: %w", err)
	}
	defer f.Close()
	return s.addImage(class, path, f)
}

func checkImageName(name string) error {
	switch strings.ToLower(path.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return nil
	}
	return fmt.Errorf("%s: unexpected file, want .png, .jpg or .jpeg", name)
}

func (s *folderScan) scanTarFile(file, split string) error {
	fh, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("read image folder: %w", err)
	}
	defer fh.Close()
	var r io.Reader = bufio.NewReaderSize(fh, 1<<20)
	if strings.HasSuffix(file, ".gz") || strings.HasSuffix(file, ".tgz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		r = zr
	}
	return s.scanTar(r, file, split)
}

// scanTar collects <split>/<class>/<image> members of an uncompressed tar
// stream; members of other splits are passed over (tar.Reader skips their
// data without keeping it).
func (s *folderScan) scanTar(r io.Reader, file, split string) error {
	tr := tar.NewReader(r)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		where := file + ":" + h.Name
		if !filepath.IsLocal(h.Name) && !filepath.IsLocal(strings.TrimPrefix(h.Name, "./")) {
			return fmt.Errorf("%s: member path leaves the archive (absolute or ..); refusing it as training data", where)
		}
		name := strings.TrimPrefix(path.Clean(h.Name), "./")
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
				return err
			}
			if err := s.addImage(rest[0], where, tr); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected member, want %s/<class>/<image>", where, split)
		}
	}
	if !found {
		return fmt.Errorf("%s: no %s/ folder", file, split)
	}
	return nil
}

func indexOf(parts []string, s string) int {
	for i, p := range parts {
		if p == s {
			return i
		}
	}
	return -1
}

// decode waits for the workers, sorts the images and assembles the
// Dataset. Every image must have the size most of them have, so a
// wrong-sized first image is blamed, not the good ones after it. The error
// reported, if any, is the one of the first bad image in order, whatever
// the scheduling.
func (s *folderScan) decode(name string) (*Dataset, error) {
	s.finish()
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
	sizes := map[[2]int]int{}
	var common [2]int
	for _, f := range s.files {
		k := [2]int{f.w, f.h}
		sizes[k]++
		if sizes[k] > sizes[common] || (sizes[k] == sizes[common] && (k[0] < common[0] || k[0] == common[0] && k[1] < common[1])) {
			common = k
		}
	}
	for _, f := range s.files {
		if f.err != nil {
			return nil, f.err
		}
		if f.w != common[0] || f.h != common[1] {
			return nil, fmt.Errorf("%s: wrong image size %dx%d, want %dx%d (the size of %d of the %d images)", f.name, f.w, f.h, common[0], common[1], sizes[common], len(s.files))
		}
	}
	ds.N, ds.H, ds.W = len(s.files), common[1], common[0]
	ds.Images = make([]uint8, ds.N*ds.ImageSize())
	ds.Labels = make([]int32, ds.N)
	for i, f := range s.files {
		copy(ds.Image(i), f.pix)
		ds.Labels[i] = label[f.class]
		f.pix = nil // the copy now holds it
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
