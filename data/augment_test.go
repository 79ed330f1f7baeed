package data

import (
	"math"
	"testing"
)

// The pad of the "+" augmentation is applied after normalisation
// (fb.resnet.torch, Stochastic_Depth): with PadZero it is 0, the mean
// colour, not the normalised black pixel; PadReflect mirrors the image
// without repeating the edge. A white 4×4 image with a gradient along x is
// shifted by the full pad (dy = dx = 0: the crop's top-left is the pad).
func TestPadColour(t *testing.T) {
	h, w := 6, 6
	src := make([]uint8, 3*h*w)
	for i := range src {
		src[i] = uint8(200 + i%w) // column x has value 200+x
	}
	table := newNormTable(CIFAR10Norm)
	dst := make([]float32, 3*h*w)
	d := sampleDraw{dy: 0, dx: 0} // output (y, x) reads source (y−4, x−4)
	at := func(c, y, x int) float32 { return dst[(c*h+y)*w+x] }

	augmentInto(dst, src, h, w, d, table, PadZero)
	for c := range 3 {
		if v := at(c, 0, 0); v != 0 {
			t.Errorf("zero pad: channel %d pad value %g, want 0 (the mean colour)", c, v)
		}
		if v, want := at(c, 5, 5), table.lut[c][201]; v != want {
			t.Errorf("zero pad: channel %d image pixel %g, want %g", c, v, want)
		}
	}
	augmentInto(dst, src, h, w, d, table, PadBlack)
	if v, want := at(1, 0, 0), (0-CIFAR10Norm.Mean[1])/CIFAR10Norm.Std[1]; v != want {
		t.Errorf("black pad: %g, want %g", v, want)
	}
	augmentInto(dst, src, h, w, d, table, PadReflect)
	// Output column x reads source column x−4, reflected: 4, 3, 2, 1, 0, 1.
	for x, sx := range []int{4, 3, 2, 1, 0, 1} {
		if v, want := at(0, 5, x), table.lut[0][200+sx]; v != want {
			t.Errorf("reflect pad: column %d = %g, want source column %d's %g", x, v, sx, want)
		}
	}
}

// Per-pixel normalisation (Stochastic_Depth cifar-dataset.lua): the mean
// image of the split and one std over all its values; the images normalise
// to mean image 0 and global std 1, and the pad is the mean image's 0.
func TestPixelNormalization(t *testing.T) {
	ds := &Dataset{N: 2, H: 2, W: 2, Images: make([]uint8, 2*12), Labels: []int32{0, 1}}
	for i := range 12 {
		ds.Images[i] = uint8(10 * i)          // image 0
		ds.Images[12+i] = uint8(10*i + 2*i%7) // image 1
	}
	n := ComputePixelNormalization(ds)
	var all []float64
	for i := range 12 {
		a, b := float64(ds.Images[i]), float64(ds.Images[12+i])
		if want := float32((a + b) / 2 / 255); math.Abs(float64(n.MeanImage[i]-want)) > 1e-7 {
			t.Errorf("mean image[%d] = %g, want %g", i, n.MeanImage[i], want)
		}
		all = append(all, a, b)
	}
	var m, ss float64
	for _, v := range all {
		m += v
	}
	m /= float64(len(all))
	for _, v := range all {
		ss += (v - m) * (v - m)
	}
	std := math.Sqrt(ss/float64(len(all)-1)) / 255 // Torch's std(): N−1
	for c := range 3 {
		if math.Abs(float64(n.Std[c])-std) > 1e-6 {
			t.Fatalf("std[%d] = %g, want the global %g", c, n.Std[c], std)
		}
	}
	table := newNormTable(n)
	dst := make([]float32, 12)
	normalizeInto(dst, ds.Image(1), table)
	for i, v := range dst {
		want := (float64(ds.Images[12+i])/255 - (float64(ds.Images[i])+float64(ds.Images[12+i]))/2/255) / std
		if math.Abs(float64(v)-want) > 1e-5 {
			t.Fatalf("pixel %d normalised to %g, want %g", i, v, want)
		}
	}
	// Crop shifted by the pad: the pad is 0, an image pixel is normalised
	// against the mean of the pixel it came from.
	aug := make([]float32, 12)
	augmentInto(aug, ds.Image(1), 2, 2, sampleDraw{dy: AugmentPad + 1, dx: AugmentPad}, table, PadZero)
	if aug[0] != dst[2] || aug[2] != 0 {
		t.Errorf("shifted crop %v: want row 0 = source row 1 (%g) and pad 0 below", aug[:4], dst[2])
	}
}
