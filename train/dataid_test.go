package train

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deepres/deepres/data"
)

// cifarLike returns a dataset of n random 32x32 images with labels i%10.
func cifarLike(n int, seed uint64) *data.Dataset {
	r := rand.New(rand.NewPCG(seed, 9))
	ds := &data.Dataset{Name: "gen", N: n, H: 32, W: 32, Images: make([]uint8, n*3*32*32), Labels: make([]int32, n),
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	for i := range ds.Images {
		ds.Images[i] = uint8(r.Uint32())
	}
	for i := range ds.Labels {
		ds.Labels[i] = int32(i % 10)
	}
	return ds
}

// relabel swaps classes a and b in frac of the records, at random.
func relabel(ds *data.Dataset, frac float64, a, b int32, seed uint64) *data.Dataset {
	out := *ds
	out.Labels = slices.Clone(ds.Labels)
	r := rand.New(rand.NewPCG(seed, 10))
	for swapped := 0; swapped < int(frac*float64(ds.N)); {
		i := r.IntN(ds.N)
		if l := out.Labels[i]; l == a || l == b {
			out.Labels[i] = a + b - l
			swapped++
		}
	}
	return &out
}

// 8% of the training labels swapped between two classes changes the
// identity, for every seed of the swap; one changed pixel does too.
func TestDataIdentityCatchesRelabelling(t *testing.T) {
	trainDS, testDS := cifarLike(5000, 1), cifarLike(1000, 2)
	id := IdentifyData("cifar10", "a", trainDS, testDS)
	if d, note := id.Compare(IdentifyData("cifar10", "moved", trainDS, testDS)); d != "" || note != "" {
		t.Fatalf("the same data elsewhere: %q, %q", d, note)
	}
	for seed := range uint64(5) {
		d, _ := id.Compare(IdentifyData("cifar10", "a", relabel(trainDS, 0.08, 3, 5, seed), testDS))
		if !strings.Contains(d, "training split's images or labels differ") {
			t.Errorf("swap %d of 8%% of the labels: %q", seed, d)
		}
	}
	pix := *testDS
	pix.Images = slices.Clone(testDS.Images)
	pix.Images[12345] ^= 1
	if d, _ := id.Compare(IdentifyData("cifar10", "a", trainDS, &pix)); !strings.Contains(d, "test split's images or labels differ") {
		t.Errorf("one pixel bit of the test split: %q", d)
	}
}

// A deepres-1 identity (the 16-record fingerprint only) still matches the
// same data, with a note that says what it cannot see.
func TestDataIdentityOldFingerprint(t *testing.T) {
	trainDS, testDS := cifarLike(500, 1), cifarLike(100, 2)
	old := IdentifyData("cifar10", "a", trainDS, testDS)
	old.TrainSHA256, old.TestSHA256 = "", ""
	d, note := old.Compare(IdentifyData("cifar10", "a", trainDS, testDS))
	if d != "" || !strings.Contains(note, "only a sample") {
		t.Errorf("deepres-1 identity, same data: %q, note %q", d, note)
	}
	other := cifarLike(500, 3)
	if d, _ := old.Compare(IdentifyData("cifar10", "a", other, testDS)); !strings.Contains(d, "sample fingerprint") {
		t.Errorf("deepres-1 identity, other images: %q", d)
	}
}

// BenchmarkIdentifyData hashes a CIFAR-10-sized dataset (50,000 + 10,000
// images): what every train and --resume pays.
func BenchmarkIdentifyData(b *testing.B) {
	trainDS, testDS := cifarLike(50000, 1), cifarLike(10000, 2)
	b.SetBytes(int64(len(trainDS.Images) + len(testDS.Images)))
	for b.Loop() {
		IdentifyData("cifar10", "a", trainDS, testDS)
	}
}
