// One SGD step in PyTorch's convention (ops.SGDParams):
// g = dw + wd*w; v = mu*v + g; w -= lr * (nesterov ? g + mu*v : v).
extern "C" __global__ void dr_sgd_update(float *w, const float *dw, float *v,
		float lr, float mu, float wd, int nesterov, int n) {
	DR_GRID_STRIDE(i, n) {
		float g = dw[i] + wd * w[i];
		float vi = mu * v[i] + g;
		v[i] = vi;
		w[i] -= lr * (nesterov ? g + mu * vi : vi);
	}
}
