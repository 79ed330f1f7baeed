package ops

import (
	"errors"
	"testing"
)

// f32Only is a backend that stores float32 only (a stand-in; both real backends store half):
// it has no PrecisionSupporter.
type f32Only struct{ Backend }

func (f32Only) Name() string                       { return "float32-only" }
func (f32Only) Alloc(shape ...int) (Tensor, error) { return shapeOnly(shape), nil }

type shapeOnly Shape

func (s shapeOnly) Shape() Shape { return Shape(s) }

// TestAllocAsUnsupported: asking a float32-only backend for half storage
// is an error wrapping ErrUnsupportedPrecision, not a panic; float32 is
// plain Alloc.
func TestAllocAsUnsupported(t *testing.T) {
	b := f32Only{}
	for _, d := range []DType{BFloat16, Float16} {
		if Supports(b, d) {
			t.Errorf("Supports(float32-only, %v) = true", d)
		}
		if _, err := AllocAs(b, d, 2, 3); !errors.Is(err, ErrUnsupportedPrecision) {
			t.Errorf("AllocAs(%v): err %v, want ErrUnsupportedPrecision", d, err)
		}
	}
	x, err := AllocAs(b, Float32, 2, 3)
	if err != nil || DTypeOf(x) != Float32 || ElemBytes(x) != 4 {
		t.Errorf("AllocAs(Float32) = %v, %v", x, err)
	}
	if BFloat16.Bytes() != 2 || Float16.Bytes() != 2 || Float32.Bytes() != 4 {
		t.Error("Bytes")
	}
	if BFloat16.UnitRoundoff() != 1.0/256 || Float16.UnitRoundoff() != 1.0/2048 {
		t.Error("UnitRoundoff")
	}
}
