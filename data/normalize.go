package data

import (
	"fmt"
	"math"
)

// Normalization maps a pixel p (0..255) of channel c to
// (p/255 − Mean[c]) / Std[c], or, with a mean image, the pixel at index i
// of the 3×H×W image to (p/255 − MeanImage[i]) / Std[0] (Std holds the one
// global deviation three times).
type Normalization struct {
	Mean, Std [3]float32
	MeanImage []float32 `json:"mean_image,omitempty"`
}

// NormMode is how images are normalised.
type NormMode string

const (
	// PerChannel subtracts each channel's mean and divides by its standard
	// deviation (fb.resnet.torch datasets/cifar10.lua, ColorNormalize).
	PerChannel NormMode = "per-channel"
	// PerPixelGlobal subtracts the training split's mean image and divides
	// by one standard deviation over all its values (Stochastic_Depth
	// cifar-dataset.lua, preprocess: self.data:mean(1), self.data:std()).
	PerPixelGlobal NormMode = "per-pixel-global"
)

// ParseNormMode checks a --normalize value.
func ParseNormMode(s string) (NormMode, error) {
	switch m := NormMode(s); m {
	case PerChannel, PerPixelGlobal:
		return m, nil
	}
	return "", fmt.Errorf("unknown normalisation %q (per-channel, per-pixel-global)", s)
}

// NormalizationBy returns the normalisation of mode for a training split:
// NormalizationFor's for PerChannel, ComputePixelNormalization(train) for
// PerPixelGlobal.
func NormalizationBy(mode NormMode, kind Kind, train *Dataset) Normalization {
	if mode == PerPixelGlobal {
		return ComputePixelNormalization(train)
	}
	return NormalizationFor(kind, train)
}

// ComputePixelNormalization returns the mean image of ds (per pixel and
// channel) and one standard deviation over every value of every image,
// taken about the global mean with Torch's default N−1 divisor, as
// Stochastic_Depth's cifar-dataset.lua computes them on its 45k training
// images (std is taken before the mean image is subtracted).
func ComputePixelNormalization(ds *Dataset) Normalization {
	size := ds.ImageSize()
	n := Normalization{MeanImage: make([]float32, size)}
	if ds.N == 0 {
		n.Std = [3]float32{1, 1, 1}
		return n
	}
	sums := make([]uint64, size)
	var total, sq uint64
	for i := range ds.N {
		for j, p := range ds.Image(i) {
			sums[j] += uint64(p)
			total += uint64(p)
			sq += uint64(p) * uint64(p)
		}
	}
	for j, s := range sums {
		n.MeanImage[j] = float32(float64(s) / float64(ds.N) / 255)
	}
	cnt := float64(ds.N * size)
	variance := (float64(sq) - float64(total)*float64(total)/cnt) / max(cnt-1, 1)
	std := float32(sqrtPos(variance) / 255)
	if std == 0 {
		std = 1 // constant images: avoid dividing by zero
	}
	n.Std = [3]float32{std, std, std}
	for c := range 3 {
		var m float64
		plane := size / 3
		for _, v := range n.MeanImage[c*plane : (c+1)*plane] {
			m += float64(v)
		}
		n.Mean[c] = float32(m / float64(plane)) // for display; MeanImage is what counts
	}
	return n
}

// Per-channel statistics of the training sets (docs/design.md, "Data").
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
