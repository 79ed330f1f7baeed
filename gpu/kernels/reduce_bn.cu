// Fused batch norm + shortcut addition + ReLU (ops'
// BatchNormAddReLUForwardTraining and BatchNormAddReLUBackward), the 4-D
// tensors all NCHW or all (nhwc) NHWC (gpu/layout.go converts a mix); x, y, z and
// their gradients of any storage type (a type code beside each), the
// per-channel parameters and statistics float32 (plan D1): forward is
// one statistics pass and one apply pass writing y, backward one reduction
// pass and one apply pass writing dx (and dz), instead of cuDNN's batch norm,
// an addition and cuDNN's ReLU, each reading and writing the whole tensor.
// The ReLU is NaN-propagating, as deepres sets cuDNN's (CUDNN_PROPAGATE_NAN):
// a NaN fails v <= 0, so "v <= 0 ? 0 : v" keeps it, as max(NaN, 0) does in
// cpuref. The file sorts after reduce.cu, whose DR_BLOCK it uses.

// dr_block_sum2 sums a and b over the block (DR_BLOCK threads) into
// thread 0's *a and *b with three barriers rather than a tree's eight per
// sum: 16 threads each add 16 partials, then thread 0 the 16 results. It
// runs once per channel, so the serial steps cost little on a GPU, and
// each barrier is a switch of every thread in the simulator
// (internal/cudasim), which made a tree reduction the slowest part of a
// simulated training step. Callers loop over channels: the last barrier
// lets them reuse the arrays.
__device__ void dr_block_sum2(double *a, double *b) {
	__shared__ double pa[DR_BLOCK], pb[DR_BLOCK];
	int t = threadIdx.x;
	pa[t] = *a;
	pb[t] = *b;
	__syncthreads();
	if (t < DR_BLOCK / 16) {
		double sa = 0.0, sb = 0.0;
		for (int k = 0; k < 16; k++) {
			sa += pa[t * 16 + k];
			sb += pb[t * 16 + k];
		}
		pa[t * 16] = sa;
		pb[t * 16] = sb;
	}
	__syncthreads();
	if (t == 0) {
		double sa = 0.0, sb = 0.0;
		for (int k = 0; k < DR_BLOCK / 16; k++) {
			sa += pa[k * 16];
			sb += pb[k * 16];
		}
		*a = sa;
		*b = sb;
	}
	__syncthreads();
}

// Per channel (one block each, looping when the grid is smaller than c):
// the batch mean and 1/sqrt(biased variance + eps) into saveMean and
// saveInvStd, and the running averages moved by momentum, the running
// variance towards the unbiased one (docs/design.md's pinned semantics).
// One read of x: the sum and the sum of squares in double, whose 53 bits
// keep the variance of float32 data exact enough (the subtraction loses
// what the data's 24 bits cannot hold anyway, unless mean² exceeds the
// variance by 2^29, far beyond a normalised network's activations).
extern "C" __global__ void dr_bn_stats(float *saveMean, float *saveInvStd, float *runMean, float *runVar,
                                       const void *x, int tx, int nhwc, int batch, int c, int inner, double eps,
                                       double momentum) {
	long long m = (long long)batch * inner;
	for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
		double s = 0.0, ss = 0.0;
		for (long long j = threadIdx.x; j < m; j += DR_BLOCK) {
			long long b = j / inner, k = j % inner;
			double v = dr_ld(x, tx, dr_at(b, ch, k, nhwc, c, inner));
			s += v;
			ss += v * v;
		}
		dr_block_sum2(&s, &ss);
		if (threadIdx.x == 0) {
			double mean = s / (double)m;
			double sq = ss - s * mean; // Σ(x − mean)²
			if (sq < 0.0) sq = 0.0;    // rounding, never below zero
			saveMean[ch] = (float)mean;
			saveInvStd[ch] = (float)(1.0 / sqrt(sq / (double)m + eps));
			runMean[ch] = (float)((1.0 - momentum) * (double)runMean[ch] + momentum * mean);
			runVar[ch] = (float)((1.0 - momentum) * (double)runVar[ch] + momentum * sq / (double)(m - 1));
		}
	}
}

// y = max(gamma*(x-mean)*invStd + beta (+ z when hasZ), 0); y may alias x or z.
extern "C" __global__ void dr_bn_add_relu_apply(void *y, int ty, const void *x, int tx, const void *z, int tz,
                                                const float *mean, const float *invStd, const float *gamma,
                                                const float *beta, int hasZ, int nhwc, int c, int inner, int n) {
	DR_GRID_STRIDE(i, n) {
		int ch = dr_chan(i, nhwc, c, inner);
		float scale = gamma[ch] * invStd[ch];
		float v = (dr_ld(x, tx, i) - mean[ch]) * scale + beta[ch];
		if (hasZ) v += dr_ld(z, tz, i);
		dr_st(y, ty, i, v <= 0.0f ? 0.0f : v);
	}
}

// Per channel, with g = dy where y > 0 else 0: dbeta = Σ g, dgamma = Σ g·x̂.
extern "C" __global__ void dr_bn_add_relu_reduce(float *dgamma, float *dbeta, const void *dy, int tdy,
                                                 const void *y, int ty, const void *x, int tx,
                                                 const float *mean, const float *invStd,
                                                 int nhwc, int batch, int c, int inner) {
	long long m = (long long)batch * inner;
	for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
		double mu = mean[ch], is = invStd[ch];
		double s = 0.0, sx = 0.0;
		for (long long j = threadIdx.x; j < m; j += DR_BLOCK) {
			long long b = j / inner, k = j % inner;
			long long i = dr_at(b, ch, k, nhwc, c, inner);
			if (dr_ld(y, ty, i) > 0.0f) {
				double g = dr_ld(dy, tdy, i);
				s += g;
				sx += g * ((double)dr_ld(x, tx, i) - mu) * is;
			}
		}
		dr_block_sum2(&s, &sx);
		if (threadIdx.x == 0) {
			dbeta[ch] = (float)s;
			dgamma[ch] = (float)sx;
		}
	}
}

// dz (add ? += : =) g when hasDz; dx (add ? += : =)
// gamma*invStd/M * (M*g - dbeta - x̂*dgamma), from dr_bn_add_relu_reduce's sums.
extern "C" __global__ void dr_bn_add_relu_backward(void *dx, int tdx, void *dz, int tdz, const void *dy, int tdy,
                                                   const void *y, int ty, const void *x, int tx,
                                                   const float *gamma, const float *mean,
                                                   const float *invStd, const float *dgamma, const float *dbeta,
                                                   int add, int hasDz, int nhwc, int c, int inner, int n, float m) {
	DR_GRID_STRIDE(i, n) {
		int ch = dr_chan(i, nhwc, c, inner);
		float g = dr_ld(y, ty, i) > 0.0f ? dr_ld(dy, tdy, i) : 0.0f;
		float is = invStd[ch];
		float xhat = (dr_ld(x, tx, i) - mean[ch]) * is;
		float v = gamma[ch] * is / m * (m * g - dbeta[ch] - xhat * dgamma[ch]);
		dr_st(dx, tdx, i, add ? dr_ld(dx, tdx, i) + v : v);
		if (hasDz) dr_st(dz, tdz, i, add ? dr_ld(dz, tdz, i) + g : g);
	}
}
