/*
 * half.h: float32 <-> bfloat16 and IEEE binary16 conversions of the
 * simulated libraries (cuDNN's io.c, cuBLAS's GemmEx), bit-identical to
 * deepres's CPU reference (ops/half.go: BF16Bits, F16Bits, F16Value), which
 * rounds as NVIDIA's round-to-nearest conversions do (cuda_fp16.h
 * __float2half_rn, cuda_bf16.h __float2bfloat16_rn; NaN payloads aside):
 * ties to even, NaN stays a quiet NaN with its sign, float16 overflow past
 * 65520 is inf, float16 subnormals exact. Integer operations only.
 */
#ifndef CUDASIM_HALF_H
#define CUDASIM_HALF_H

#include <stdint.h>
#include <string.h>

/* bfloat16: the top half of x's bits after adding 0x7FFF plus the lowest
 * kept bit (ties to even); a NaN keeps its sign and top payload, quieted. */
static inline uint16_t sim_bf16_bits(float x)
{
	uint32_t u;
	memcpy(&u, &x, 4);
	if (x != x)
		return (uint16_t)(u >> 16) | 0x40;
	u += 0x7fffu + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

static inline float sim_bf16_value(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* IEEE binary16, round to nearest even: past 65520 inf, below 2^-14
 * subnormal multiples of 2^-24 (or zero), NaN quiet with its sign. */
static inline uint16_t sim_f16_bits(float x)
{
	uint32_t u;
	memcpy(&u, &x, 4);
	uint16_t sign = (uint16_t)(u >> 16) & 0x8000;
	int exp = (int)(u >> 23) & 0xff;
	uint32_t man = u & 0x7fffff;
	if (exp == 0xff)
		return sign | (man != 0 ? 0x7e00 : 0x7c00);
	int e = exp - 127 + 15;
	if (e >= 0x1f)
		return sign | 0x7c00;
	if (e <= 0) {
		if (e < -10)
			return sign;
		uint32_t m = man | 0x800000, shift = (uint32_t)(14 - e);
		uint32_t h = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
		if (rem > half || (rem == half && (h & 1)))
			h++; /* may carry into the smallest normal, which is right */
		return sign | (uint16_t)h;
	}
	uint32_t h = (uint32_t)e << 10 | man >> 13, rem = man & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
		h++; /* a carry raises the exponent, up to inf */
	return sign | (uint16_t)h;
}

static inline float sim_f16_value(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
	if (exp == 0x1f) {
		u = sign | 0x7f800000u | man << 13;
	} else if (exp == 0) {
		float v = (float)man * (1.0f / 16777216.0f); /* man·2^-24, exact */
		return sign ? -v : v;
	} else {
		u = sign | (exp + 127 - 15) << 23 | man << 13;
	}
	float f;
	memcpy(&f, &u, 4);
	return f;
}

#endif
