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

// dr_sgd_update with the learning rate read from device memory (*lr), so
// that a captured training step (graph.go) takes each launch's rate from
// there; the arithmetic is dr_sgd_update's, so both give the same bits.
extern "C" __global__ void dr_sgd_update_lr(float *w, const float *dw, float *v,
		const float *lr, float mu, float wd, int nesterov, int n) {
	float rate = *lr;
	DR_GRID_STRIDE(i, n) {
		float g = dw[i] + wd * w[i];
		float vi = mu * v[i] + g;
		v[i] = vi;
		w[i] -= rate * (nesterov ? g + mu * vi : vi);
	}
}
