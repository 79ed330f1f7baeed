package data

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Hostile or odd folders and archives: each is refused early with an error
// naming the culprit, or, for symbolic links, read.
func TestImageFolderHostile(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ds := randomDataset(r, 4, 4, 4, 2)
	ds.Labels = []int32{0, 0, 1, 1}
	ms := folderMembers(t, ds, "train", "png")
	big := randomDataset(r, 1, 5, 4, 1)
	for _, tc := range []struct {
		name    string
		members []tarMember
		want    string
	}{
		// A tiny image with megabytes after it: refused after its header
		// and about a megabyte, not read whole (nor 24 such held at once).
		{"padded member", append(slices.Clone(ms[1:]), tarMember{ms[0].name, append(slices.Clone(ms[0].data), make([]byte, 3<<20)...)}), "bytes for a 4x4 image"},
		// The first image in order has the odd size: it is blamed, not the
		// three good ones after it.
		{"odd first image", append(slices.Clone(ms), tarMember{"train/aa/000.png", encodeImage(t, big, 0, "png")}), "aa/000.png: wrong image size 4x5, want 4x4"},
		{"dot-dot member", append(slices.Clone(ms), tarMember{"train/../../evil/x.png", ms[0].data}), "leaves the archive"},
		{"absolute member", append(slices.Clone(ms), tarMember{"/train/ab/x.png", ms[0].data}), "leaves the archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.tar.gz")
			writeFile(t, path, makeTar(t, tc.members, true))
			if _, err := ReadImageFolder(path, "train"); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}

	t.Run("decoded size cap", func(t *testing.T) {
		defer func(v int64) { MaxDecodedBytes = v }(MaxDecodedBytes)
		MaxDecodedBytes = 3 * 4 * 4 * 3 // three of the four images
		dir := t.TempDir()
		writeMembers(t, dir, ms)
		if _, err := ReadImageFolder(dir, "train"); err == nil || !strings.Contains(err.Error(), "more than 144 bytes") {
			t.Errorf("got error %v, want the cap named", err)
		}
	})

	t.Run("symlinked class folder", func(t *testing.T) {
		dir := t.TempDir()
		real := filepath.Join(dir, "elsewhere")
		writeMembers(t, real, ms)
		if err := os.MkdirAll(filepath.Join(dir, "set", "train"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, c := range ds.Classes {
			if err := os.Symlink(filepath.Join(real, "train", c), filepath.Join(dir, "set", "train", c)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ReadImageFolder(filepath.Join(dir, "set"), "train")
		if err != nil {
			t.Fatal(err)
		}
		sameData(t, got, ds.Subset(byClass(ds)))
	})
}
