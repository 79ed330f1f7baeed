package data

// AugmentPad is the zero padding of the "+" augmentation (He et al. 2016,
// §4.2: "4 pixels are padded on each side, and a 32×32 crop is randomly
// sampled from the padded image or its horizontal flip").
const AugmentPad = 4

// normTable maps each byte value of each channel to its normalised float.
// The padding of augmentation is the pixel value 0 normalised (zero
// padding before normalisation, as torchvision's RandomCrop then Normalize).
type normTable [3][256]float32

func newNormTable(n Normalization) *normTable {
	var t normTable
	for c := range 3 {
		for v := range 256 {
			t[c][v] = (float32(v)/255 - n.Mean[c]) / n.Std[c]
		}
	}
	return &t
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
		lut := &t[c]
		s, d := src[c*plane:(c+1)*plane], dst[c*plane:(c+1)*plane]
		for i, v := range s {
			d[i] = lut[v]
		}
	}
}

// augmentInto writes into dst (3×h×w) the h×w crop at (d.dy, d.dx) of src
// (3×h×w bytes, CHW) zero-padded by AugmentPad on each side, flipped
// horizontally when d.flip, and normalised.
func augmentInto(dst []float32, src []uint8, h, w int, d sampleDraw, t *normTable) {
	plane := h * w
	// Output column x reads source column x+ox (or ox−x when flipped);
	// [x0, x1) are the output columns whose source lies inside the image.
	ox := d.dx - AugmentPad
	x0, x1 := max(0, -ox), min(w, w-ox)
	if d.flip {
		ox = w - 1 + d.dx - AugmentPad
		x0, x1 = max(0, ox-(w-1)), min(w, ox+1)
	}
	for c := range 3 {
		lut := &t[c]
		pad := lut[0]
		for y := range h {
			row := dst[c*plane+y*w : c*plane+(y+1)*w]
			sy := y + d.dy - AugmentPad
			if sy < 0 || sy >= h || x0 >= x1 {
				for x := range row {
					row[x] = pad
				}
				continue
			}
			srow := src[c*plane+sy*w : c*plane+(sy+1)*w]
			for x := 0; x < x0; x++ {
				row[x] = pad
			}
			if d.flip {
				for x := x0; x < x1; x++ {
					row[x] = lut[srow[ox-x]]
				}
			} else {
				for x := x0; x < x1; x++ {
					row[x] = lut[srow[x+ox]]
				}
			}
			for x := x1; x < w; x++ {
				row[x] = pad
			}
		}
	}
}
