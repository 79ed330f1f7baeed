// Package synth makes small generated datasets for tests: random 32×32
// images in 10 classes whose mean colour depends on the class, so that a
// network can learn something in a few steps.
package synth

import (
	"math/rand/v2"

	"github.com/deepres/deepres/data"
)

// Dataset returns n such images, the same for the same seed.
func Dataset(n int, seed uint64) *data.Dataset {
	r := rand.New(rand.NewPCG(seed, 9))
	ds := &data.Dataset{Name: "synthetic", N: n, H: 32, W: 32, Images: make([]uint8, n*3*32*32), Labels: make([]int32, n)}
	for c := 0; c < 10; c++ {
		ds.Classes = append(ds.Classes, string(rune('a'+c)))
	}
	for i := 0; i < n; i++ {
		l := int32(r.IntN(10))
		ds.Labels[i] = l
		for j := 0; j < 3*32*32; j++ {
			ds.Images[i*3*32*32+j] = uint8(int(l)*20 + r.IntN(60))
		}
	}
	return ds
}
