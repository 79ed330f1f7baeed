package gpu

import (
	"errors"
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opstest"
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

// The conformance suite's NHWC passes, as cpuref runs them: they skip,
// saying why, until the GPU backend implements ops.LayoutSupporter, and
// then hold its NHWC ops (alone, mixed with NCHW, and in each half type)
// to cpuref.
func TestConformanceNHWC(t *testing.T) {
	for _, o := range []opstest.Options{
		{Layout: ops.NHWC},
		{Layout: ops.NHWC, MixLayouts: true},
		{Layout: ops.NHWC, DType: ops.BFloat16},
		{Layout: ops.NHWC, DType: ops.Float16},
	} {
		t.Run(fmt.Sprintf("%v_mixed%t", o.DType, o.MixLayouts), func(t *testing.T) {
			b := openOrSkip(t, FP32)
			defer closeOK(t, b)
			opstest.Run(t, b, o)
		})
	}
}
