package data

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSVHNMat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		o    matOptions
		h, w int
	}{
		{"uncompressed double", matOptions{}, 32, 32},
		{"compressed double", matOptions{compressed: true}, 32, 32},
		{"compressed uint8 y", matOptions{compressed: true, yType: miUINT8, yClass: mxUINT8}, 32, 32},
		{"big endian", matOptions{bigEndian: true}, 32, 32},
		{"extra variable", matOptions{compressed: true, extraVar: true}, 32, 32},
		{"not square", matOptions{}, 5, 7}, // catches a swapped row/column order
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := randomDataset(r, 6, tc.h, tc.w, 10)
			want.Labels[0], want.Labels[1] = 0, 9 // the digit 0 is stored as 10
			got, err := ReadSVHNMat(bytes.NewReader(writeMat(want, tc.o)), "t.mat")
			if err != nil {
				t.Fatal(err)
			}
			sameData(t, got, want)
			if err := got.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestReadSVHNMatErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 4, 32, 32, 10)
	good := writeMat(ds, matOptions{})
	goodZ := writeMat(ds, matOptions{compressed: true})
	v73 := bytes.Clone(good)
	copy(v73, "MATLAB 7.3 MAT-file")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated X", good[:128+200], "t.mat: truncated X at image 0"},
		{"truncated y", good[:len(good)-20], "t.mat: truncated y data"},
		{"truncated compressed", goodZ[:len(goodZ)-20], "t.mat: "},
		{"label 11", writeMat(ds, matOptions{yValues: []float64{1, 2, 11, 3}}), "t.mat: y[2] = 11, want a label 1..10"},
		{"label 0", writeMat(ds, matOptions{yValues: []float64{1, 0, 1, 3}}), "t.mat: y[1] = 0, want a label 1..10"},
		{"label fraction", writeMat(ds, matOptions{yValues: []float64{1, 2.5, 1, 3}}), "y[1] = 2.5"},
		{"label count", writeMat(ds, matOptions{yValues: []float64{1, 2, 3}}), "t.mat: 3 labels for 4 images"},
		{"no X", writeMat(ds, matOptions{skipX: true}), "t.mat: no variable X"},
		{"empty", nil, "t.mat: reading MAT header"},
		{"v7.3", v73, "MATLAB v7.3 (HDF5) file, want v5"},
		{"not mat", bytes.Repeat([]byte("x"), 200), "not a MATLAB v5 MAT-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSVHNMat(bytes.NewReader(tc.data), "t.mat")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("too many images", func(t *testing.T) {
		_, err := readSVHNMat(bytes.NewReader(good), "t.mat", 4*3072-1)
		if want := "X declares 32×32×3×4 bytes, more than the 12287 allowed"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got error %v, want %q", err, want)
		}
	})
	t.Run("no y", func(t *testing.T) {
		_, err := ReadSVHNMat(bytes.NewReader(writeMat(ds, matOptions{compressed: true, skipY: true})), "t.mat")
		if err == nil || !strings.Contains(err.Error(), "t.mat: no variable y") {
			t.Errorf("got error %v, want no variable y", err)
		}
	})
}

func TestLoadSVHN(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	sets := map[Split]*Dataset{}
	for _, s := range []Split{Train, Test, Extra} {
		sets[s] = randomDataset(r, 3+int(s), 32, 32, 10)
		writeFile(t, filepath.Join(dir, svhnFile(s)), writeMat(sets[s], matOptions{compressed: true}))
	}
	for s, want := range sets {
		got, err := Load(SVHN, dir, s)
		if err != nil {
			t.Fatal(err)
		}
		sameData(t, got, want)
	}
	if _, err := Load(SVHN, t.TempDir(), Train); err == nil || !strings.Contains(err.Error(), "train_32x32.mat") {
		t.Errorf("missing file: got %v, want an error naming train_32x32.mat", err)
	}
}
