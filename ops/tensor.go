package ops

import (
	"fmt"
	"strings"
)

// Shape is a tensor's dimensions, outermost first. Activations are NCHW,
// convolution weights (out, in, kh, kw), linear weights (out, in).
type Shape []int

// Len is the number of elements: the product of the dimensions.
func (s Shape) Len() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether s and t have the same dimensions.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// NCHW returns the four dimensions of an activation; it panics unless s has rank 4.
func (s Shape) NCHW() (n, c, h, w int) {
	if len(s) != 4 {
		panic(fmt.Sprintf("ops: shape %v is not NCHW", s))
	}
	return s[0], s[1], s[2], s[3]
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// Clone returns a copy that does not share s's backing array.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// Tensor is a handle to float32 storage owned by one Backend. Its contents
// are reached only through that backend's ops and copies; handing a tensor
// to another backend panics.
type Tensor interface {
	Shape() Shape
}
