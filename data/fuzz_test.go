package data

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// The fuzz targets check that a reader never panics, never asks for memory
// a header merely claims, and that what it accepts is a consistent Dataset.

func FuzzReadCIFAR(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	f.Add(cifarRecords(randomDataset(r, 2, 32, 32, 10), CIFAR10), false)
	f.Add(cifarRecords(randomDataset(r, 1, 32, 32, 100), CIFAR100), true)
	f.Add([]byte{0, 1, 2}, false)
	f.Fuzz(func(t *testing.T, b []byte, hundred bool) {
		kind := CIFAR10
		if hundred {
			kind = CIFAR100
		}
		ds, err := ReadCIFAR(bytes.NewReader(b), "fuzz.bin", kind)
		if err != nil {
			return
		}
		if err := ds.Check(); err != nil {
			t.Fatal(err)
		}
		if ds.N*(cifarImageBytes+cifarLabelBytes(kind)) != len(b) {
			t.Fatalf("%d records from %d bytes", ds.N, len(b))
		}
	})
}

func FuzzReadSVHNMat(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 2, 3, 2, 10)
	f.Add(writeMat(ds, matOptions{}))
	f.Add(writeMat(ds, matOptions{compressed: true, extraVar: true}))
	f.Add(writeMat(ds, matOptions{bigEndian: true, yType: miUINT8, yClass: mxUINT8}))
	f.Fuzz(func(t *testing.T, b []byte) {
		// A small limit keeps a fuzzed header from allocating much.
		ds, err := readSVHNMat(bytes.NewReader(b), "fuzz.mat", 1<<20)
		if err != nil {
			return
		}
		if err := ds.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzReadImageTar(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 2, 2, 3, 2)
	ds.Labels = []int32{0, 1}
	f.Add(makeTar(f, folderMembers(f, ds, "train", "png"), false))
	f.Add(makeTar(f, folderMembers(f, ds, "train", "jpg"), false))
	f.Add(makeTar(f, append(folderMembers(f, ds, "train", "png"), tarMember{"train/empty", nil}), false))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newScan(64) // keeps a fuzzed image header from allocating much
		defer s.finish()
		if err := s.scanTar(bytes.NewReader(b), "fuzz.tar", "train"); err != nil {
			return
		}
		ds, err := s.decode("fuzz.tar train")
		if err != nil {
			return
		}
		if err := ds.Check(); err != nil {
			t.Fatal(err)
		}
	})
}
