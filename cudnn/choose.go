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

// admit is what strict FP32 asks of a Find result. Both parts keep a
// convolution's error to that of its float summation, which the
// conformance suite's tolerances assume: fma, results timed with
// CUDNN_FMA_MATH (no TF32), for float data only (half data are read exactly
// by tensor cores: Handle.mathFor); noTransform, the algorithms
// fp32Algorithm admits, for every data type.
type admit struct {
	fma, noTransform bool
}

// admitted is what mode m asks of type-t data's results.
func admitted(m Math, t DataType) admit {
	return admit{fma: m == FP32 && t == Float, noTransform: m == FP32}
}

// choose returns the index of the first result that succeeded and fits a
// workspace of ws bytes among those a admits; Find sorts its results by
// time, so it is the fastest. -1 when none does.
func choose(d direction, a admit, rs []findResult, ws int) int {
	for i, r := range rs {
		if (a.fma && !r.fma) || (a.noTransform && !fp32Algorithm(d, r.algo)) {
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
// direct and GEMM-based algorithms (and fused WINOGRAD), for half data too:
// there a transform's error is not below the data's unit roundoff (the
// simulator models it as 2.5e-4 relative, float16's u being 4.9e-4), and
// whether cuDNN runs the transforms of half data in half is not documented.
// Enum values from cuDNN 9's cudnn_cnn.h.
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
