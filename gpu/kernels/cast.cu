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

// y = x in logical order between layouts (and types at once): y's storage
// index j holds x's element of the same logical index. Each tensor has its
// own layout flag, channels and positions per channel (1, 1 for a tensor
// that is not 4-D), so a flat buffer and an NHWC tensor of equal length
// copy in logical order, as ops' Copy requires.
extern "C" __global__ void dr_copy_laid(void *y, int ty, int ly, int yc, int yhw, const void *x, int tx, int lx,
                                        int xc, int xhw, int n) {
	DR_GRID_STRIDE(j, n) {
		long long i = dr_logical(j, ly, yc, yhw);
		dr_st(y, ty, j, dr_ld(x, tx, dr_storage(i, lx, xc, xhw)));
	}
}
