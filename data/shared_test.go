package data

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// realCIFAR10 is the folder of the real CIFAR-10 JPEG archives
// (cifar10-train.tar.gz, cifar10-test.tar.gz): $DEEPRES_DATA, else the
// project's CI layout beside the repository; the test skips without either.
func realCIFAR10(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("DEEPRES_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data", "cifar10-jpeg")
	}
	if _, err := os.Stat(filepath.Join(dir, "cifar10-test.tar.gz")); err != nil {
		t.Skipf("no real CIFAR-10 JPEG data (%v); HINT: set DEEPRES_DATA to a folder holding cifar10-train.tar.gz and cifar10-test.tar.gz", err)
	}
	return dir
}

// TestSharedCIFAR10JPEG reads the real CIFAR-10 test split (10,000 JPEGs in
// a .tar.gz).
func TestSharedCIFAR10JPEG(t *testing.T) {
	path := filepath.Join(realCIFAR10(t), "cifar10-test.tar.gz")
	start := time.Now()
	ds, err := Load(Folder, path, Test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d images in %v", ds.N, time.Since(start))
	if ds.N != 10000 || ds.H != 32 || ds.W != 32 {
		t.Fatalf("got N,H,W = %d,%d,%d, want 10000,32,32", ds.N, ds.H, ds.W)
	}
	if !slices.Equal(ds.Classes, cifar10Classes) {
		t.Errorf("classes %v, want the CIFAR-10 order %v", ds.Classes, cifar10Classes)
	}
	sub := ds.Subset(ds.FirstPerClass(30))
	count := make([]int, 10)
	for _, l := range sub.Labels {
		count[l]++
	}
	if sub.N != 300 || slices.Max(count) != 30 || slices.Min(count) != 30 {
		t.Errorf("first 30 per class: N=%d, per class %v", sub.N, count)
	}
	// The test split's statistics are close to the training set's published ones.
	n := ComputeNormalization(ds)
	for c := range 3 {
		if d := n.Mean[c] - CIFAR10Norm.Mean[c]; d > 0.01 || d < -0.01 {
			t.Errorf("channel %d mean %.4f, want within 0.01 of %.4f", c, n.Mean[c], CIFAR10Norm.Mean[c])
		}
		if d := n.Std[c] - CIFAR10Norm.Std[c]; d > 0.01 || d < -0.01 {
			t.Errorf("channel %d std %.4f, want within 0.01 of %.4f", c, n.Std[c], CIFAR10Norm.Std[c])
		}
	}
	t.Logf("test split normalisation %+v", n)
}

// TestLoadFolderOfSplitArchives reads the real CIFAR-10 JPEG folder as it
// is (one archive per split) through Load.
func TestLoadFolderOfSplitArchives(t *testing.T) {
	dir := realCIFAR10(t)
	ds, err := Load(Folder, dir, Test)
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 10000 || len(ds.Classes) != 10 || ds.Classes[0] != "airplane" {
		t.Errorf("test split: %d images, classes %v", ds.N, ds.Classes)
	}
}
