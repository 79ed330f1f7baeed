package data

import "math"

// Normalization maps a pixel p (0..255) of channel c to
// (p/255 − Mean[c]) / Std[c].
type Normalization struct {
	Mean, Std [3]float32
}

// Per-channel statistics of the training sets (DESIGN.md, "Data").
var (
	CIFAR10Norm  = Normalization{Mean: [3]float32{0.4914, 0.4822, 0.4465}, Std: [3]float32{0.2470, 0.2435, 0.2616}}
	CIFAR100Norm = Normalization{Mean: [3]float32{0.5071, 0.4865, 0.4409}, Std: [3]float32{0.2673, 0.2564, 0.2762}}
	// SVHNNorm is the widely quoted statistics of SVHN's train split
	// (73,257 images); it was not recomputed here. ComputeNormalization on
	// the loaded train split gives the exact values.
	SVHNNorm = Normalization{Mean: [3]float32{0.4377, 0.4438, 0.4728}, Std: [3]float32{0.1980, 0.2010, 0.1970}}
)

// NormalizationFor returns the constants of a published dataset, or
// ComputeNormalization(train) for an image folder.
func NormalizationFor(kind Kind, train *Dataset) Normalization {
	switch kind {
	case CIFAR10:
		return CIFAR10Norm
	case CIFAR100:
		return CIFAR100Norm
	case SVHN:
		return SVHNNorm
	}
	return ComputeNormalization(train)
}

// ComputeNormalization returns the per-channel mean and the population
// standard deviation over every pixel of ds, in units of 1/255 (the
// torchvision convention behind the published constants).
func ComputeNormalization(ds *Dataset) Normalization {
	plane := ds.H * ds.W
	var n Normalization
	if ds.N == 0 {
		return Normalization{Std: [3]float32{1, 1, 1}}
	}
	for c := range 3 {
		// Integer sums are exact: 255²·3072·1e6 images still fits in uint64.
		var sum, sq uint64
		for i := range ds.N {
			for _, p := range ds.Image(i)[c*plane : (c+1)*plane] {
				sum += uint64(p)
				sq += uint64(p) * uint64(p)
			}
		}
		cnt := float64(ds.N * plane)
		mean := float64(sum) / cnt
		variance := float64(sq)/cnt - mean*mean
		n.Mean[c] = float32(mean / 255)
		n.Std[c] = float32(sqrtPos(variance) / 255)
		if n.Std[c] == 0 {
			n.Std[c] = 1 // a constant channel: avoid dividing by zero
		}
	}
	return n
}

func sqrtPos(v float64) float64 {
	if v <= 0 {
		return 0 // rounding can make a zero variance slightly negative
	}
	return math.Sqrt(v)
}
