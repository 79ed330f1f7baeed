package data

import "fmt"

// AugmentPad is the padding of the "+" augmentation (He et al. 2016, §4.2:
// "4 pixels are padded on each side, and a 32×32 crop is randomly sampled
// from the padded image or its horizontal flip").
const AugmentPad = 4

// PadMode is what fills the padding of the "+" augmentation.
type PadMode string

const (
	// PadZero pads the normalised image with zeros: the mean colour (the
	// mean image's pixel under per-pixel normalisation). fb.resnet.torch
	// datasets/cifar10.lua normalises (ColorNormalize) before RandomCrop(32,
	// 4), whose padding is temp:zero() (datasets/transforms.lua);
	// Stochastic_Depth cifar-dataset.lua normalises in preprocess() and pads
	// with input:zero() in sampleIndices.
	PadZero PadMode = "zero"
	// PadBlack pads with pixel value 0 before normalisation (torchvision's
	// RandomCrop before Normalize); deepres runs recorded before PadMode
	// existed used it.
	PadBlack PadMode = "black"
	// PadReflect mirrors the image at its border without repeating the edge
	// pixel (wide-residual-networks augmentation.lua: RandomCrop with mode
	// 'reflection', nn.SpatialReflectionPadding; scripts/train_cifar.sh sets
	// randomcrop_type=reflection).
	PadReflect PadMode = "reflect"
)

// ParsePadMode checks a --pad value.
func ParsePadMode(s string) (PadMode, error) {
	switch m := PadMode(s); m {
	case PadZero, PadBlack, PadReflect:
		return m, nil
	}
	return "", fmt.Errorf("unknown pad %q (zero, black, reflect)", s)
}

// normTable turns pixel bytes into normalised floats: per channel through a
// lookup table, or per pixel against a mean image.
type normTable struct {
	lut [3][256]float32 // per channel: (v/255 − Mean[c]) / Std[c]
	// Per-pixel normalisation: (v/255 − mean[i]) / std, i the pixel's
	// index in 3×h×w (nil: per channel).
	mean []float32
	std  float32
}

func newNormTable(n Normalization) *normTable {
	var t normTable
	for c := range 3 {
		for v := range 256 {
			t.lut[c][v] = (float32(v)/255 - n.Mean[c]) / n.Std[c]
		}
	}
	if n.MeanImage != nil {
		t.mean, t.std = n.MeanImage, n.Std[0]
	}
	return &t
}

// value normalises byte v of channel c at index i of the 3×h×w image.
func (t *normTable) value(c, i int, v uint8) float32 {
	if t.mean != nil {
		return (float32(v)/255 - t.mean[i]) / t.std
	}
	return t.lut[c][v]
}

// sampleDraw is one sample's augmentation: crop offsets dy, dx in
// [0, 2·AugmentPad] into the padded image, and a horizontal flip.
type sampleDraw struct {
	dy, dx int
	flip   bool
}

// drawFor derives a sample's augmentation from (seed, epoch, position in
// the epoch) alone, so that it does not depend on which worker runs it or
// when, and a resumed run sees the same draws.
func drawFor(seed uint64, epoch, pos int) sampleDraw {
	h := splitmix(splitmix(seed^0x5eed) + uint64(epoch))
	h = splitmix(h + uint64(pos))
	const span = 2*AugmentPad + 1
	return sampleDraw{
		dy:   int((h & 0xffff) % span),
		dx:   int((h >> 16 & 0xffff) % span),
		flip: h>>32&1 == 1,
	}
}

// splitmix is the SplitMix64 finaliser (Steele et al., "Fast splittable
// pseudorandom number generators", 2014): a bijective 64-bit mix.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// normalizeInto writes src (3×h×w bytes, CHW) normalised into dst (3×h×w).
func normalizeInto(dst []float32, src []uint8, t *normTable) {
	plane := len(src) / 3
	for c := range 3 {
		s, d := src[c*plane:(c+1)*plane], dst[c*plane:(c+1)*plane]
		if t.mean != nil {
			for i, v := range s {
				d[i] = t.value(c, c*plane+i, v)
			}
			continue
		}
		lut := &t.lut[c]
		for i, v := range s {
			d[i] = lut[v]
		}
	}
}

// reflect maps a coordinate outside [0, n) to its mirror image without
// repeating the edge (…, 2, 1 | 0, 1, 2, … n−1 | n−2, …); pad < n.
func reflect(i, n int) int {
	switch {
	case i < 0:
		return -i
	case i >= n:
		return 2*(n-1) - i
	}
	return i
}

// augmentInto writes into dst (3×h×w) the h×w crop at (d.dy, d.dx) of src
// (3×h×w bytes, CHW) padded by AugmentPad on each side as pad says, flipped
// horizontally when d.flip. Normalisation is pixel-wise, so normalising
// then padding (PadZero, PadReflect) is normalising each source pixel and
// filling the rest with zero; PadBlack fills with the normalised byte 0.
func augmentInto(dst []float32, src []uint8, h, w int, d sampleDraw, t *normTable, pad PadMode) {
	plane := h * w
	for c := range 3 {
		fill := float32(0)
		if pad == PadBlack {
			fill = t.lut[c][0]
		}
		for y := range h {
			sy := y + d.dy - AugmentPad
			if pad == PadReflect {
				sy = reflect(sy, h)
			}
			row := dst[c*plane+y*w : c*plane+(y+1)*w]
			for x := range row {
				cx := x // column of the crop before the flip
				if d.flip {
					cx = w - 1 - x
				}
				sx := cx + d.dx - AugmentPad
				if pad == PadReflect {
					sx = reflect(sx, w)
				}
				if sy < 0 || sy >= h || sx < 0 || sx >= w {
					row[x] = fill
					continue
				}
				i := c*plane + sy*w + sx
				row[x] = t.value(c, i, src[i])
			}
		}
	}
}
