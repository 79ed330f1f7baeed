// Global average pooling: one thread per (n, c) plane; planes are small
// (at most 64 pixels in the CIFAR networks), so a serial sum in double is
// both fast and close to cpuref's float64 accumulation. x (and dx) NCHW or
// (nhwc) NHWC with c channels; y (and dy) are (N,C) matrices.
extern "C" __global__ void dr_gap_forward(void *y, int ty, const void *x, int tx, int nhwc, int c, int hw, int planes) {
	DR_GRID_STRIDE(i, planes) {
		double s = 0.0;
		int b = i / c, ch = i % c;
		for (int j = 0; j < hw; j++) s += dr_ld(x, tx, dr_at(b, ch, j, nhwc, c, hw));
		dr_st(y, ty, i, (float)(s / hw));
	}
}

// dx (add ? += : =) dy[plane] / hw.
extern "C" __global__ void dr_gap_backward(void *dx, int tdx, const void *dy, int tdy, int nhwc, int c, int hw, int add,
                                           int n) {
	DR_GRID_STRIDE(i, n) {
		int plane = (i / (c * hw)) * c + dr_chan(i, nhwc, c, hw);
		float v = dr_ld(dy, tdy, plane) / (float)hw;
		dr_st(dx, tdx, i, add ? dr_ld(dx, tdx, i) + v : v);
	}
}
