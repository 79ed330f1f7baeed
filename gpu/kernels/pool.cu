// Global average pooling: one thread per (n, c) plane; planes are small
// (at most 64 pixels in the CIFAR networks), so a serial sum in double is
// both fast and close to cpuref's float64 accumulation.
extern "C" __global__ void dr_gap_forward(void *y, int ty, const void *x, int tx, int hw, int planes) {
	DR_GRID_STRIDE(i, planes) {
		double s = 0.0;
		long long p = (long long)i * hw;
		for (int j = 0; j < hw; j++) s += dr_ld(x, tx, p + j);
		dr_st(y, ty, i, (float)(s / hw));
	}
}

// dx (add ? += : =) dy[plane] / hw.
extern "C" __global__ void dr_gap_backward(void *dx, int tdx, const void *dy, int tdy, int hw, int add, int n) {
	DR_GRID_STRIDE(i, n) {
		float v = dr_ld(dy, tdy, i / hw) / (float)hw;
		dr_st(dx, tdx, i, add ? dr_ld(dx, tdx, i) + v : v);
	}
}
