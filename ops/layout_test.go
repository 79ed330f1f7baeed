package ops

import (
	"errors"
	"strings"
	"testing"
)

// TestNHWCPermutation: element (n, c, h, w) of a logical NCHW tensor lies
// at ((n·H + h)·W + w)·C + c in NHWC storage (cuDNN's CUDNN_TENSOR_NHWC),
// and FromNHWC undoes ToNHWC.
func TestNHWCPermutation(t *testing.T) {
	const n, c, h, w = 2, 3, 4, 5
	src := make([]float32, n*c*h*w)
	for i := range src {
		src[i] = float32(i)
	}
	nhwc := make([]float32, len(src))
	ToNHWC(nhwc, src, n, c, h, w)
	for in := 0; in < n; in++ {
		for ic := 0; ic < c; ic++ {
			for ih := 0; ih < h; ih++ {
				for iw := 0; iw < w; iw++ {
					logical := ((in*c+ic)*h+ih)*w + iw
					if got := nhwc[((in*h+ih)*w+iw)*c+ic]; got != src[logical] {
						t.Fatalf("(%d,%d,%d,%d): stored %v, want %v", in, ic, ih, iw, got, src[logical])
					}
				}
			}
		}
	}
	back := make([]float32, len(src))
	FromNHWC(back, nhwc, n, c, h, w)
	for i := range src {
		if back[i] != src[i] {
			t.Fatalf("FromNHWC(ToNHWC(x))[%d] = %v, want %v", i, back[i], src[i])
		}
	}
}

// TestAllocLayoutUnsupported: NHWC on a backend without LayoutSupporter
// is an error wrapping ErrUnsupportedLayout; NCHW is plain AllocAs; a
// layout other than NCHW needs a 4-D shape.
func TestAllocLayoutUnsupported(t *testing.T) {
	b := f32Only{}
	if SupportsLayout(b, NHWC) || !SupportsLayout(b, NCHW) {
		t.Error("a backend without LayoutSupporter must support NCHW only")
	}
	if _, err := AllocLayout(b, Float32, NHWC, 1, 2, 3, 4); !errors.Is(err, ErrUnsupportedLayout) {
		t.Errorf("AllocLayout(NHWC): %v, want ErrUnsupportedLayout", err)
	}
	if x, err := AllocLayout(b, Float32, NCHW, 2, 3); err != nil || LayoutOf(x) != NCHW {
		t.Errorf("AllocLayout(NCHW): %v, %v", x, err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "ops: ") {
			t.Errorf("AllocLayout(NHWC) of a 2-D shape: panic %v, want an ops: panic", r)
		}
	}()
	AllocLayout(b, Float32, NHWC, 2, 3)
}

func TestNHWCViewOK(t *testing.T) {
	parent := Shape{4, 3, 2, 2}
	for _, tc := range []struct {
		off   int
		shape Shape
		ok    bool
	}{
		{0, Shape{4, 3, 2, 2}, true},
		{0, Shape{1, 3, 2, 2}, true},
		{24, Shape{2, 3, 2, 2}, true},
		{12, Shape{1, 3, 2, 2}, true},
		{1, Shape{1, 3, 2, 2}, false},
		{0, Shape{48}, false},
		{0, Shape{4, 12}, false},
		{0, Shape{4, 3, 4, 1}, false},
		{0, Shape{2, 6, 2, 2}, false},
	} {
		if got := NHWCViewOK(parent, tc.off, tc.shape); got != tc.ok {
			t.Errorf("NHWCViewOK(%v, %d, %v) = %t, want %t", parent, tc.off, tc.shape, got, tc.ok)
		}
	}
}
