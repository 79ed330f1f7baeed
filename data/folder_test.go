package data

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeMembers writes tar members as files under dir.
func writeMembers(t *testing.T, dir string, ms []tarMember) {
	for _, m := range ms {
		path := filepath.Join(dir, filepath.FromSlash(m.name))
		if m.data == nil {
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		writeFile(t, path, m.data)
	}
}

func TestReadImageFolder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 12, 6, 5, 3)
	ds.Labels = []int32{2, 0, 1, 0, 2, 1, 1, 0, 2, 0, 1, 2}
	want := ds.Subset(byClass(ds))
	ms := folderMembers(t, ds, "train", "png")
	// Members of another split and macOS metadata must be passed over.
	other := append(slices.Clone(ms), tarMember{"test/zz/000.png", ms[0].data}, tarMember{"train/aa/._000.png", []byte("junk")})
	dir := t.TempDir()
	writeMembers(t, dir, other)
	tarDir := t.TempDir()
	writeFile(t, filepath.Join(tarDir, "d.tar"), makeTar(t, other, false))
	prefixed := make([]tarMember, len(ms))
	for i, m := range ms {
		prefixed[i] = tarMember{"./cifar/" + m.name, m.data}
	}
	slices.Reverse(prefixed) // the reader sorts, whatever the archive order
	writeFile(t, filepath.Join(tarDir, "d.tar.gz"), makeTar(t, prefixed, true))
	for _, tc := range []struct{ name, path string }{
		{"dir", dir}, {"tar", filepath.Join(tarDir, "d.tar")}, {"tar.gz with prefix", filepath.Join(tarDir, "d.tar.gz")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadImageFolder(tc.path, "train")
			if err != nil {
				t.Fatal(err)
			}
			sameData(t, got, want)
			if !slices.Equal(got.Classes, ds.Classes) {
				t.Errorf("classes %v, want %v", got.Classes, ds.Classes)
			}
		})
	}
	t.Run("load", func(t *testing.T) {
		got, err := Load(Folder, dir, Test)
		if err != nil {
			t.Fatal(err)
		}
		if got.N != 1 || !slices.Equal(got.Classes, []string{"zz"}) {
			t.Errorf("test split: N=%d classes %v, want 1 image of class zz", got.N, got.Classes)
		}
	})
}

func TestReadImageFolderJPEG(t *testing.T) {
	// A smooth image survives JPEG closely; random noise would not.
	ds := &Dataset{N: 2, H: 16, W: 16, Classes: []string{"a", "b"}, Labels: []int32{0, 1}, Images: make([]uint8, 2*3*16*16)}
	for i := range ds.Images {
		ds.Images[i] = uint8(i % 256 / 4 * 2)
	}
	dir := t.TempDir()
	writeMembers(t, dir, folderMembers(t, ds, "train", "jpg"))
	got, err := ReadImageFolder(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	worst := 0
	for i := range got.Images {
		worst = max(worst, absDiff(got.Images[i], ds.Images[i]))
	}
	if worst > 12 {
		t.Errorf("JPEG round trip: largest pixel error %d, want ≤ 12", worst)
	}
	if !slices.Equal(got.Labels, ds.Labels) {
		t.Errorf("labels %v, want %v", got.Labels, ds.Labels)
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestImageColorModels(t *testing.T) {
	// Gray, paletted and 16-bit PNGs convert to RGB.
	gray := image.NewGray(image.Rect(0, 0, 2, 1))
	gray.Pix = []uint8{10, 200}
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{1, 2, 3, 255}, color.RGBA{4, 5, 6, 255}})
	pal.Pix = []uint8{1, 0}
	rgba64 := image.NewRGBA64(image.Rect(0, 0, 2, 1))
	rgba64.Set(0, 0, color.RGBA{7, 8, 9, 255})
	rgba64.Set(1, 0, color.RGBA{250, 251, 252, 255})
	for _, tc := range []struct {
		name string
		img  image.Image
		want []uint8 // CHW
	}{
		{"gray", gray, []uint8{10, 200, 10, 200, 10, 200}},
		{"paletted", pal, []uint8{4, 1, 5, 2, 6, 3}},
		{"rgba64", rgba64, []uint8{7, 250, 8, 251, 9, 252}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := png.Encode(&b, tc.img); err != nil {
				t.Fatal(err)
			}
			dst := make([]uint8, 6)
			if err := decodeInto(dst, 1, 2, imageFile{name: "x.png", data: b.Bytes()}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dst, tc.want) {
				t.Errorf("got %v, want %v", dst, tc.want)
			}
		})
	}
}

func TestReadImageFolderErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 2, 4, 4, 2)
	ds.Labels = []int32{0, 1}
	ms := folderMembers(t, ds, "train", "png")
	small := randomDataset(r, 1, 3, 4, 1)
	for _, tc := range []struct {
		name  string
		extra []tarMember
		want  string // error text, also checked on the tar form
	}{
		{"empty class folder", []tarMember{{"train/zz", nil}}, "empty class folder zz"},
		{"wrong image size", []tarMember{{"train/ab/999.png", encodeImage(t, small, 0, "png")}}, "999.png: wrong image size 4x3, want 4x4"},
		{"corrupt image", []tarMember{{"train/ab/999.png", []byte("\x89PNG\r\n\x1a\nbroken")}}, "999.png: "},
		{"not an image", []tarMember{{"train/ab/notes.txt", []byte("hi")}}, "notes.txt: unexpected file, want .png, .jpg or .jpeg"},
		{"file in split", []tarMember{{"train/readme.png", ms[0].data}}, "readme.png: unexpected"},
		{"too deep", []tarMember{{"train/ab/sub/1.png", ms[0].data}}, "train/ab/sub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := append(slices.Clone(ms), tc.extra...)
			dir := t.TempDir()
			writeMembers(t, dir, all)
			if tc.extra[0].data == nil {
				writeFile(t, filepath.Join(dir, "train", "zz", ".keep"), nil) // an empty folder, but for a dot file
			}
			writeFile(t, filepath.Join(dir, "t.tar"), makeTar(t, all, false))
			for _, path := range []string{dir, filepath.Join(dir, "t.tar")} {
				_, err := ReadImageFolder(path, "train")
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: got error %v, want one containing %q", path, err, tc.want)
				}
			}
		})
	}
	t.Run("no split", func(t *testing.T) {
		dir := t.TempDir()
		writeMembers(t, dir, ms)
		writeFile(t, filepath.Join(dir, "t.tar"), makeTar(t, ms, false))
		for _, path := range []string{dir, filepath.Join(dir, "t.tar")} {
			if _, err := ReadImageFolder(path, "test"); err == nil || !strings.Contains(err.Error(), "test") {
				t.Errorf("%s: got error %v, want one naming the missing split", path, err)
			}
		}
	})
}
