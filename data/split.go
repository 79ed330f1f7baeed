package data

import (
	"fmt"
	"math/rand/v2"
)

// SplitValidation returns a seeded random split of ds into n validation
// images and the remaining training images, each keeping ds's order
// (e.g. 45k/5k for CIFAR with n = 5000). It panics unless 0 ≤ n ≤ ds.N.
func SplitValidation(ds *Dataset, n int, seed uint64) (train, val *Dataset) {
	if n < 0 || n > ds.N {
		panic(fmt.Sprintf("data: validation size %d out of range [0,%d]", n, ds.N))
	}
	perm := permutation(ds.N, rand.New(rand.NewPCG(seed, 0x7a11d)))
	inVal := make([]bool, ds.N)
	for _, i := range perm[:n] {
		inVal[i] = true
	}
	var ti, vi []int
	for i := range ds.N {
		if inVal[i] {
			vi = append(vi, i)
		} else {
			ti = append(ti, i)
		}
	}
	train, val = ds.Subset(ti), ds.Subset(vi)
	train.Name, val.Name = ds.Name+" (train part)", ds.Name+" (validation part)"
	return train, val
}

// permutation is a Fisher–Yates shuffle of 0..n-1 written out here, rather
// than rand.Perm, so that an order (and a resumed run) depends only on the
// PCG stream, not on the standard library's choice of algorithm.
func permutation(n int, r *rand.Rand) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		// Multiply-shift maps 32 random bits to 0..i; the bias, i/2³², is
		// immaterial for dataset sizes.
		j := int((r.Uint64() >> 32) * uint64(i+1) >> 32)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
