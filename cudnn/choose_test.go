package cudnn

import "testing"

// Strict FP32 skips the transform-based algorithms even when Find ranks them
// fastest with FMA math; TF32 takes the fastest that fits.
func TestChooseFP32ExcludesTransforms(t *testing.T) {
	fma := func(algo int) findResult { return findResult{ok: true, algo: algo, memory: 1 << 20, fma: true} }
	tests := []struct {
		name string
		d    direction
		fp32 bool // FP32 mode, float data
		rs   []findResult
		ws   int
		want int
	}{
		{"fwd FFT first, fp32", forward, true, []findResult{fma(4), fma(5), fma(7), fma(1)}, 1 << 30, 3},
		{"fwd FFT first, tf32", forward, false, []findResult{fma(4), fma(1)}, 1 << 30, 0},
		{"fwd winograd fused kept", forward, true, []findResult{fma(6), fma(0)}, 1 << 30, 0},
		{"bwd data transforms", backwardData, true, []findResult{fma(2), fma(3), fma(5), fma(1)}, 1 << 30, 3},
		{"bwd filter transforms", backwardFilter, true, []findResult{fma(2), fma(5), fma(6), fma(3)}, 1 << 30, 3},
		{"bwd filter ALGO_3 is not FFT_TILING", backwardFilter, true, []findResult{fma(3)}, 1 << 30, 0},
		{"fp32 needs FMA math", forward, true, []findResult{{ok: true, algo: 1, fma: false}, fma(0)}, 1 << 30, 1},
		{"failed and too big skipped", forward, false, []findResult{{ok: false, algo: 0}, {ok: true, algo: 1, memory: 2 << 20}, fma(2)}, 1 << 20, 2},
		{"none", forward, true, []findResult{fma(4)}, 1 << 30, -1},
	}
	for _, tc := range tests {
		a := admitted(TF32, Float)
		if tc.fp32 {
			a = admitted(FP32, Float)
		}
		if got := choose(tc.d, a, tc.rs, tc.ws); got != tc.want {
			t.Errorf("%s: choose = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// Half data: Find runs under tensor-op math and choose asks for no FMA, in
// either mode, but FP32 mode still keeps out the transform algorithms;
// float data keep the mode's math (FMA only in FP32) and its whole filter.
func TestHalfDataAdmitted(t *testing.T) {
	const fma, dflt, tensorOp = 3, 0, 1 // cudnnMathType_t (cudnn_graph.h; abi-check.c checks the DR_ values)
	for _, m := range []Math{FP32, TF32} {
		h := &Handle{math: m}
		for _, d := range []DataType{Float, BFloat16, Half} {
			want, wantAdmit := tensorOp, admit{noTransform: m == FP32}
			if d == Float {
				want, wantAdmit = dflt, admit{fma: m == FP32, noTransform: m == FP32}
				if m == FP32 {
					want = fma
				}
			}
			if got := int(h.mathFor(d)); got != want {
				t.Errorf("math %d, %v data: math type %d, want %d", m, d, got, want)
			}
			if got := admitted(m, d); got != wantAdmit {
				t.Errorf("math %d, %v data: admit %+v, want %+v", m, d, got, wantAdmit)
			}
		}
	}
	// In FP32 mode a tensor-op result of half data is taken, a transform is not.
	tc := findResult{ok: true, algo: 1}
	fft := findResult{ok: true, algo: 4}
	if got := choose(forward, admitted(FP32, Half), []findResult{fft, tc}, 1<<30); got != 1 {
		t.Errorf("FP32, half data: chose %d of [FFT, tensor-op GEMM], want 1", got)
	}
	if got := choose(forward, admitted(TF32, Half), []findResult{fft, tc}, 1<<30); got != 0 {
		t.Errorf("TF32, half data: chose %d of [FFT, tensor-op GEMM], want 0", got)
	}
}
