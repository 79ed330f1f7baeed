// Softmax cross-entropy, one thread per sample (K is 10 or 100).
// losses[i] = -log softmax(logits[i])[label]; correct[i] = 1 when the first
// arg-max is the label; dlogits (unless null) = (softmax - onehot) * invN.
extern "C" __global__ void dr_softmax_xent(float *dlogits, float *losses, float *correct,
		const float *logits, const float *labels, int k, float invN, int batch) {
	DR_GRID_STRIDE(i, batch) {
		const float *z = logits + (long long)i * k;
		int label = (int)labels[i];
		float m = z[0];
		int arg = 0;
		for (int j = 1; j < k; j++) {
			if (z[j] > m) { m = z[j]; arg = j; }
		}
		double sum = 0.0;
		for (int j = 0; j < k; j++) sum += exp((double)(z[j] - m));
		double lse = log(sum);
		losses[i] = (float)(lse - (double)(z[label] - m));
		correct[i] = arg == label ? 1.0f : 0.0f;
		if (dlogits != 0) {
			float *d = dlogits + (long long)i * k;
			for (int j = 0; j < k; j++) {
				float p = (float)(exp((double)(z[j] - m)) / sum);
				d[j] = (p - (j == label ? 1.0f : 0.0f)) * invN;
			}
		}
	}
}
