// One SGD step in PyTorch's convention (ops.SGDParams):
// g = dw + wd*w; v = mu*v + g; w -= lr * (nesterov ? g + mu*v : v).
// found, when not null, is float16 loss scaling's flag (ops.LossScaler's
// SGDUpdateUnlessFound): the step does nothing when found[0] != 0, decided
// on the device so that a captured step needs no host read. w, dw and v
// are float32: the master weights, their gradients and the momentum.

__device__ inline void dr_sgd_step(float *w, const float *dw, float *v, float lr, float mu, float wd, int nesterov,
                                   int n) {
	DR_GRID_STRIDE(i, n) {
		float g = dw[i] + wd * w[i];
		float vi = mu * v[i] + g;
		v[i] = vi;
		w[i] -= lr * (nesterov ? g + mu * vi : vi);
	}
}

extern "C" __global__ void dr_sgd_update(float *w, const float *dw, float *v, const float *found,
		float lr, float mu, float wd, int nesterov, int n) {
	if (found != 0 && found[0] != 0.0f) return;
	dr_sgd_step(w, dw, v, lr, mu, wd, nesterov, n);
}

// dr_sgd_update with the learning rate read from device memory (*lr), so
// that a captured training step (graph.go) takes each launch's rate from
// there; the arithmetic is dr_sgd_update's, so both give the same bits.
extern "C" __global__ void dr_sgd_update_lr(float *w, const float *dw, float *v, const float *found,
		const float *lr, float mu, float wd, int nesterov, int n) {
	if (found != 0 && found[0] != 0.0f) return;
	dr_sgd_step(w, dw, v, *lr, mu, wd, nesterov, n);
}
