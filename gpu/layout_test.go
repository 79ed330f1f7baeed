package gpu

import (
	"errors"
	"testing"

	"github.com/deepres/deepres/ops"
)

// TestConformanceNHWCUnsupported: the GPU backend stores NCHW only in this
// version (issue 22), and says so through the capability query: no
// ops.LayoutSupporter, ops.AllocLayout fails with ErrUnsupportedLayout
// instead of storing NCHW under an NHWC name, and the conformance suite's
// NHWC passes skip (deepres --layout auto then picks nchw, saying why).
func TestConformanceNHWCUnsupported(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	if ops.SupportsLayout(b, ops.NHWC) {
		t.Errorf("the GPU backend claims NHWC storage")
	}
	if _, err := ops.AllocLayout(b, ops.Float32, ops.NHWC, 2, 3, 4, 5); !errors.Is(err, ops.ErrUnsupportedLayout) {
		t.Errorf("AllocLayout(nhwc): %v, want ErrUnsupportedLayout", err)
	}
}
