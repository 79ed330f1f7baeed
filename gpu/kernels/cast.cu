// Copy between storage types and Fill of a half tensor (ops' Copy and Fill;
// copy.go): same-type copies and float32 fills stay a memcpy and a memset.

// y = x, widened to float and rounded to y's type: one rounding of the
// exact value, as cpuref's Copy (which stores the float32 value and rounds
// it to dst's type).
extern "C" __global__ void dr_cast(void *y, int ty, const void *x, int tx, int n) {
	DR_GRID_STRIDE(i, n) {
		dr_st(y, ty, i, dr_ld(x, tx, i));
	}
}

// y = v rounded to y's type, every element.
extern "C" __global__ void dr_fill(void *y, int ty, float v, int n) {
	DR_GRID_STRIDE(i, n) {
		dr_st(y, ty, i, v);
	}
}
