package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSplitValidation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 100, 1, 1, 100)
	for i := range ds.Labels {
		ds.Labels[i] = int32(i) // a label names its image
	}
	for _, n := range []int{0, 10, 100} {
		train, val := SplitValidation(ds, n, 42)
		if train.N != 100-n || val.N != n {
			t.Fatalf("n=%d: sizes %d/%d", n, train.N, val.N)
		}
		all := slices.Concat(train.Labels, val.Labels)
		slices.Sort(all)
		for i, l := range all {
			if l != int32(i) {
				t.Fatalf("n=%d: parts are not a partition: %v", n, all)
			}
		}
		for i := range train.N { // images travel with their labels
			if !slices.Equal(train.Image(i), ds.Image(int(train.Labels[i]))) {
				t.Fatalf("n=%d: train image %d is not image %d", n, i, train.Labels[i])
			}
		}
		if !slices.IsSorted(val.Labels) || !slices.IsSorted(train.Labels) {
			t.Errorf("n=%d: parts do not keep the dataset order", n)
		}
	}
	_, a := SplitValidation(ds, 10, 42)
	_, b := SplitValidation(ds, 10, 42)
	_, c := SplitValidation(ds, 10, 43)
	if !slices.Equal(a.Labels, b.Labels) || slices.Equal(a.Labels, c.Labels) {
		t.Errorf("seed 42 twice: %v, %v; seed 43: %v", a.Labels, b.Labels, c.Labels)
	}
}

func TestComputeNormalization(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 5, 3, 4, 2)
	plane := 12
	for i := range ds.N { // a constant blue channel
		for p := range plane {
			ds.Image(i)[2*plane+p] = 77
		}
	}
	got := ComputeNormalization(ds)
	for c := range 2 {
		var s, s2 float64
		for i := range ds.N {
			for _, v := range ds.Image(i)[c*plane : (c+1)*plane] {
				s += float64(v) / 255
				s2 += float64(v) / 255 * float64(v) / 255
			}
		}
		n := float64(ds.N * plane)
		mean := s / n
		std := math.Sqrt(s2/n - mean*mean)
		if math.Abs(float64(got.Mean[c])-mean) > 1e-6 || math.Abs(float64(got.Std[c])-std) > 1e-6 {
			t.Errorf("channel %d: got %v %v, want %v %v", c, got.Mean[c], got.Std[c], mean, std)
		}
	}
	if got.Std[2] != 1 || math.Abs(float64(got.Mean[2])-77.0/255) > 1e-6 {
		t.Errorf("constant channel: got mean %v std %v, want %v and 1", got.Mean[2], got.Std[2], 77.0/255)
	}
}
