package ops

import "math"

// Round returns x rounded to the nearest value of storage type d (ties to
// even), as a float32: what storing x in d and reading it back gives. It
// is the CPU reference's model of a GPU storing half precision.
func Round(d DType, x float32) float32 {
	switch d {
	case BFloat16:
		return math.Float32frombits(uint32(BF16Bits(x)) << 16)
	case Float16:
		return F16Value(F16Bits(x))
	}
	return x
}

// BF16Bits is x rounded to bfloat16, as its 16 bits: the top half of
// x's float32 bits after adding 0x7FFF plus the lowest kept bit, which
// rounds to nearest with ties to even (the "standard bit trick" of
// PyTorch's c10/util/BFloat16.h round_to_nearest_even). A NaN stays a
// quiet NaN; overflow past bfloat16's largest finite value gives inf, as
// the rounding carries into the exponent.
func BF16Bits(x float32) uint16 {
	u := math.Float32bits(x)
	if x != x {
		return uint16(u>>16) | 0x40 // keep the sign and payload top, force quiet
	}
	u += 0x7FFF + (u>>16)&1
	return uint16(u >> 16)
}

// F16Bits is x rounded to IEEE binary16 with ties to even: values past
// 65520 (halfway between 65504, the largest finite, and 2^16) become inf;
// values below 2^-14 become subnormals (multiples of 2^-24) or zero.
func F16Bits(x float32) uint16 {
	u := math.Float32bits(x)
	sign := uint16(u>>16) & 0x8000
	exp := int(u>>23) & 0xFF
	man := u & 0x7FFFFF
	switch {
	case exp == 0xFF && man != 0: // NaN: quiet, sign kept
		return sign | 0x7E00
	case exp == 0xFF:
		return sign | 0x7C00
	}
	e := exp - 127 + 15 // the binary16 biased exponent
	if e >= 0x1F {
		return sign | 0x7C00
	}
	if e <= 0 { // subnormal in binary16: shift the full significand right
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to zero
		}
		m := man | 0x800000 // implicit one
		shift := uint(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++ // may carry into the smallest normal, which is right
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1FFF
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry out of the fraction raises the exponent, up to inf
	}
	return sign | uint16(h)
}

// F16Value is the float32 value of binary16 bits h.
func F16Value(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1F
	man := uint32(h & 0x3FF)
	switch {
	case exp == 0x1F:
		return math.Float32frombits(sign | 0x7F800000 | man<<13)
	case exp == 0: // zero or subnormal: man·2^-24, exact in float32
		v := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// RoundSlice rounds every element of x to d in place.
func RoundSlice(d DType, x []float32) {
	switch d {
	case BFloat16: // the type decided once, not per element: every op's output passes here
		for i, v := range x {
			x[i] = math.Float32frombits(uint32(BF16Bits(v)) << 16)
		}
	case Float16:
		for i, v := range x {
			x[i] = F16Value(F16Bits(v))
		}
	}
}
