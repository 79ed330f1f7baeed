// Block-wide sums in double through shared memory. Launched with
// DR_BLOCK threads (kernels.go uses the same number).
#define DR_BLOCK 256

__device__ double dr_block_sum(double v) {
	__shared__ double part[DR_BLOCK];
	part[threadIdx.x] = v;
	__syncthreads();
	for (int s = DR_BLOCK / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
		__syncthreads();
	}
	return part[0];
}

// db[c] = sum over N and inner of dy (N,C,inner), NCHW or (nhwc) NHWC;
// one block per channel.
extern "C" __global__ void dr_bias_backward(void *db, int tdb, const void *dy, int tdy, int nhwc, int batch, int c,
                                            int inner) {
	int ch = blockIdx.x;
	double s = 0.0;
	for (int j = threadIdx.x; j < batch * inner; j += DR_BLOCK) {
		int b = j / inner, k = j % inner;
		s += dr_ld(dy, tdy, dr_at(b, ch, k, nhwc, c, inner));
	}
	s = dr_block_sum(s);
	if (threadIdx.x == 0) dr_st(db, tdb, ch, (float)s);
}

// dst[0] = the sum of x, of x^2 (mode 1) or of |x| (mode 2), by one block:
// Reduce feeds metrics and norms, not the training step's hot path.
extern "C" __global__ void dr_reduce(void *dst, int tdst, const void *x, int tx, int mode, int n) {
	double s = 0.0;
	for (int i = threadIdx.x; i < n; i += DR_BLOCK) {
		double v = dr_ld(x, tx, i);
		s += mode == 1 ? v * v : (mode == 2 ? fabs(v) : v);
	}
	s = dr_block_sum(s);
	if (threadIdx.x == 0) dr_st(dst, tdst, 0, (float)s);
}
