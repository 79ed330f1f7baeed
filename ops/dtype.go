package ops

import (
	"errors"
	"fmt"
)

// DType is a tensor's storage type (issue 22). Arithmetic is float32 or
// wider on every backend whatever the storage: a half tensor is rounded
// when it is stored, never computed in half.
type DType uint8

const (
	Float32  DType = iota // IEEE binary32; the default, and all a backend must support
	BFloat16              // 8 exponent bits, 7 fraction bits: float32's range, 2^-8 unit roundoff
	Float16               // IEEE binary16: 5 exponent bits, 10 fraction bits, max 65504, 2^-11 unit roundoff
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case BFloat16:
		return "bfloat16"
	case Float16:
		return "float16"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Bytes is the storage of one element.
func (d DType) Bytes() int {
	if d == Float32 {
		return 4
	}
	return 2
}

// UnitRoundoff is u = 2^-p for p significand bits (the implicit one
// included: 24, 8, 11): rounding to nearest stores x as x(1+δ), |δ| <= u
// (Higham, Accuracy and Stability of Numerical Algorithms, §2.1).
func (d DType) UnitRoundoff() float64 {
	switch d {
	case BFloat16:
		return 1.0 / (1 << 8)
	case Float16:
		return 1.0 / (1 << 11)
	}
	return 1.0 / (1 << 24)
}

// ErrUnsupportedPrecision is wrapped by AllocAs when the backend cannot
// store the type asked for (both backends store every type ops defines).
var ErrUnsupportedPrecision = errors.New("storage type not supported by this backend")

// PrecisionSupporter is implemented by backends that can store tensors in
// types other than float32. Every op then accepts tensors of any type it
// supports, in any mix: inputs are widened when read, outputs rounded to
// their own type when written. A backend without it stores float32 only.
type PrecisionSupporter interface {
	// SupportsDType reports whether AllocAs(d, …) can succeed.
	SupportsDType(d DType) bool
	// AllocAs is Alloc with storage type d.
	AllocAs(d DType, shape ...int) (Tensor, error)
}

// Supports reports whether b can store tensors of type d.
func Supports(b Backend, d DType) bool {
	if d == Float32 {
		return true
	}
	p, ok := b.(PrecisionSupporter)
	return ok && p.SupportsDType(d)
}

// AllocAs allocates a zero-filled tensor of storage type d on b: Alloc for
// float32, the backend's AllocAs otherwise, and an error wrapping
// ErrUnsupportedPrecision where b cannot store d.
func AllocAs(b Backend, d DType, shape ...int) (Tensor, error) {
	if d == Float32 {
		return b.Alloc(shape...)
	}
	if !Supports(b, d) {
		return nil, fmt.Errorf("%s storage on %s: %w", d, b.Name(), ErrUnsupportedPrecision)
	}
	return b.(PrecisionSupporter).AllocAs(d, shape...)
}

// Typed is implemented by tensors that know their storage type.
type Typed interface {
	DType() DType
}

// DTypeOf is t's storage type: its own where it says, else Float32.
func DTypeOf(t Tensor) DType {
	if s, ok := t.(Typed); ok {
		return s.DType()
	}
	return Float32
}
