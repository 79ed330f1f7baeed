package gpu

import (
	"errors"
	"testing"

	"github.com/deepres/deepres/ops"
)

// TestConformanceHalfUnsupported: the GPU backend stores float32 only in
// this version (issue 22), and says so through the capability query: no
// ops.PrecisionSupporter, ops.AllocAs fails with ErrUnsupportedPrecision
// instead of crashing, and the conformance suite's half passes skip.
func TestConformanceHalfUnsupported(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	for _, d := range []ops.DType{ops.BFloat16, ops.Float16} {
		if ops.Supports(b, d) {
			t.Errorf("the GPU backend claims %v storage", d)
		}
		if _, err := ops.AllocAs(b, d, 2, 3); !errors.Is(err, ops.ErrUnsupportedPrecision) {
			t.Errorf("AllocAs(%v): %v, want ErrUnsupportedPrecision", d, err)
		}
	}
}
