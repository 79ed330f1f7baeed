package cudnn

// direction is which of the three convolution passes an algorithm computes.
type direction int

const (
	forward direction = iota
	backwardData
	backwardFilter
)

// findResult is one cudnnFind*AlgorithmEx record in Go types.
type findResult struct {
	ok     bool // status CUDNN_STATUS_SUCCESS
	algo   int  // cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t
	memory int  // workspace bytes it needs
	fma    bool // timed with CUDNN_FMA_MATH
}

// choose returns the index of the first result that succeeded and fits a
// workspace of ws bytes; Find sorts its results by time, so it is the
// fastest. In strict FP32 only FMA-math results of algorithms fp32Algorithm
// admits qualify. -1 when none does.
func choose(d direction, fp32 bool, rs []findResult, ws int) int {
	for i, r := range rs {
		if fp32 && (!r.fma || !fp32Algorithm(d, r.algo)) {
			continue
		}
		if r.ok && r.memory <= ws {
			return i
		}
	}
	return -1
}

// fp32Algorithm reports whether strict FP32 admits algorithm id of pass d.
// FFT, FFT_TILING and WINOGRAD_NONFUSED compute in a transformed domain
// (cuDNN API reference, cudnnConvolutionFwdAlgo_t and its backward
// counterparts), where rounding in the transforms adds to the error of the
// summation itself: google/nvidia_libs_test (cudnn_conv_test.cc,
// GetTolerance) allows WINOGRAD_NONFUSED 1e-2 where the GEMM-based ones get
// 1e-4 or 1e-5. FP32 is the mode compared with cpuref, so it keeps to the
// direct and GEMM-based algorithms (and fused WINOGRAD). Enum values from
// cuDNN 9's cudnn_cnn.h.
func fp32Algorithm(d direction, id int) bool {
	var excluded []int
	switch d {
	case forward: // FFT 4, FFT_TILING 5, WINOGRAD_NONFUSED 7
		excluded = []int{4, 5, 7}
	case backwardData: // FFT 2, FFT_TILING 3, WINOGRAD_NONFUSED 5
		excluded = []int{2, 3, 5}
	case backwardFilter: // FFT 2, WINOGRAD_NONFUSED 5, FFT_TILING 6
		excluded = []int{2, 5, 6}
	}
	for _, e := range excluded {
		if id == e {
			return false
		}
	}
	return true
}
