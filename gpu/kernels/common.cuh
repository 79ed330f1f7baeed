// Shared by every kernel file (kernels.go prepends it). No CUDA header is
// included: NVRTC and clang's CUDA mode both provide __global__, threadIdx,
// blockIdx, blockDim, gridDim, __syncthreads and the math functions used here.
#define DR_GRID_STRIDE(i, n) \
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

// ---- Storage types (issue 22, plan D2) ----
// A tensor pointer a kernel may receive in half precision is a void pointer
// with an int type code beside it, ops.DType's value: DR_F32, DR_BF16,
// DR_F16. dr_ld widens element i to float, dr_st rounds v to the type (to
// nearest, ties to even) and stores it. Arithmetic is float (or double)
// whatever the storage, as in the CPU reference. The conversions use
// integer operations only, bit for bit those of ops/half.go (BF16Bits,
// F16Bits, F16Value), and no cuda_fp16.h or inline PTX, so that NVRTC,
// clang's CUDA mode and the simulator's NVRTC (internal/cudasim) compile the
// same code. The type code is a kernel argument: every thread of a launch
// takes the same branch.
#define DR_F32 0
#define DR_BF16 1
#define DR_F16 2

// A union reinterprets the bits (mov.b32 in PTX; GCC and clang define
// union type punning, and NVRTC has no __float_as_uint without headers in
// clang's CUDA mode).
__device__ inline unsigned int dr_bits(float f) {
	union { float f; unsigned int u; } c;
	c.f = f;
	return c.u;
}

__device__ inline float dr_from_bits(unsigned int u) {
	union { float f; unsigned int u; } c;
	c.u = u;
	return c.f;
}

// dr_bf16_bits is ops.BF16Bits: the top half of x's bits after adding
// 0x7FFF plus the lowest kept bit; a NaN keeps its sign and payload top and
// is made quiet.
__device__ inline unsigned short dr_bf16_bits(float x) {
	unsigned int u = dr_bits(x);
	if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (unsigned short)((u >> 16) | 0x40u);
	u += 0x7FFFu + ((u >> 16) & 1u);
	return (unsigned short)(u >> 16);
}

// dr_f16_bits is ops.F16Bits: IEEE binary16, ties to even; past 65520 inf,
// below 2^-14 subnormals (multiples of 2^-24) or zero; NaN quiet, sign kept.
__device__ inline unsigned short dr_f16_bits(float x) {
	unsigned int u = dr_bits(x);
	unsigned int sign = (u >> 16) & 0x8000u;
	int exp = (int)((u >> 23) & 0xFFu);
	unsigned int man = u & 0x7FFFFFu;
	if (exp == 0xFF) return (unsigned short)(sign | (man != 0u ? 0x7E00u : 0x7C00u));
	int e = exp - 127 + 15; // the binary16 biased exponent
	if (e >= 0x1F) return (unsigned short)(sign | 0x7C00u);
	if (e <= 0) { // subnormal in binary16: shift the full significand right
		if (e < -10) return (unsigned short)sign;
		unsigned int m = man | 0x800000u;
		unsigned int shift = (unsigned int)(14 - e);
		unsigned int h = m >> shift;
		unsigned int rem = m & ((1u << shift) - 1u);
		unsigned int half = 1u << (shift - 1u);
		if (rem > half || (rem == half && (h & 1u))) h++; // may carry into the smallest normal
		return (unsigned short)(sign | h);
	}
	unsigned int h = (unsigned int)e << 10 | man >> 13;
	unsigned int rem = man & 0x1FFFu;
	if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; // a carry raises the exponent, up to inf
	return (unsigned short)(sign | h);
}

// dr_f16_value is ops.F16Value, exact: a subnormal's significand is
// normalised by shifting (man·2^-24 is a normal float32).
__device__ inline float dr_f16_value(unsigned int h) {
	unsigned int sign = (h & 0x8000u) << 16;
	unsigned int exp = (h >> 10) & 0x1Fu;
	unsigned int man = h & 0x3FFu;
	if (exp == 0x1Fu) return dr_from_bits(sign | 0x7F800000u | man << 13);
	if (exp == 0u) {
		if (man == 0u) return dr_from_bits(sign);
		unsigned int e = 127 - 15 + 1;
		while (!(man & 0x400u)) {
			man <<= 1;
			e--;
		}
		return dr_from_bits(sign | e << 23 | (man & 0x3FFu) << 13);
	}
	return dr_from_bits(sign | (exp + 127 - 15) << 23 | man << 13);
}

// dr_ld is element i of p, of type t, widened to float (exact).
__device__ inline float dr_ld(const void *p, int t, long long i) {
	if (t == DR_F32) return ((const float *)p)[i];
	unsigned int h = ((const unsigned short *)p)[i];
	return t == DR_BF16 ? dr_from_bits(h << 16) : dr_f16_value(h);
}

// dr_st stores v as element i of p, of type t, rounded to nearest even.
__device__ inline void dr_st(void *p, int t, long long i, float v) {
	if (t == DR_F32) {
		((float *)p)[i] = v;
		return;
	}
	((unsigned short *)p)[i] = t == DR_BF16 ? dr_bf16_bits(v) : dr_f16_bits(v);
}

// ---- Storage layouts (issue 22) ----
// A 4-D tensor's shape is logical NCHW in every layout; stored
// channels-last (ops.NHWC, cuDNN's CUDNN_TENSOR_NHWC) its element
// (n, ch, k), k = h·W + w, lies at (n·HW + k)·C + ch instead of
// (n·C + ch)·HW + k. A kernel that indexes by channel or position takes an
// int nhwc flag for its 4-D tensors (the Go side gives them one layout,
// converting a mix through scratch: gpu/layout.go); element-wise kernels
// over tensors of one layout need none, element i being the same logical
// element in each. Other ranks are row-major: nhwc 0.

// dr_chan is the channel of storage index j (c channels, hw positions).
__device__ inline int dr_chan(long long j, int nhwc, int c, int hw) {
	return nhwc ? (int)(j % c) : (int)((j / hw) % c);
}

// dr_at is the storage index of logical element (n, ch, k).
__device__ inline long long dr_at(long long n, int ch, long long k, int nhwc, int c, int hw) {
	return nhwc ? (n * hw + k) * c + ch : (n * c + ch) * hw + k;
}

// dr_logical is the logical (NCHW) index of storage index j.
__device__ inline long long dr_logical(long long j, int nhwc, int c, int hw) {
	if (!nhwc) return j;
	long long r = j % ((long long)c * hw); // k·C + ch within the sample
	return j - r + (r % c) * hw + r / c;
}

// dr_storage is the storage index of logical index i (dr_logical's inverse).
__device__ inline long long dr_storage(long long i, int nhwc, int c, int hw) {
	if (!nhwc) return i;
	long long r = i % ((long long)c * hw); // ch·HW + k within the sample
	return i - r + (r % hw) * c + r / hw;
}
