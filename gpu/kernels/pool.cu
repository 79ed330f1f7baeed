// Global average pooling: one thread per (n, c) plane; planes are small
// (at most 64 pixels in the CIFAR networks), so a serial sum in double is
// both fast and close to cpuref's float64 accumulation.
extern "C" __global__ void dr_gap_forward(float *y, const float *x, int hw, int planes) {
	DR_GRID_STRIDE(i, planes) {
		double s = 0.0;
		const float *p = x + (long long)i * hw;
		for (int j = 0; j < hw; j++) s += p[j];
		y[i] = (float)(s / hw);
	}
}

// dx (add ? += : =) dy[plane] / hw.
extern "C" __global__ void dr_gap_backward(float *dx, const float *dy, int hw, int add, int n) {
	DR_GRID_STRIDE(i, n) {
		float v = dy[i / hw] / (float)hw;
		dx[i] = add ? dx[i] + v : v;
	}
}
