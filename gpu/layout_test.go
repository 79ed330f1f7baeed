package gpu

import (
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opstest"
)

// The conformance suite's NHWC passes, as cpuref runs them: the GPU
// backend stores NHWC (ops.LayoutSupporter), and its ops on NHWC tensors
// (alone, mixed with NCHW, and in each half type) are held to cpuref.
func TestConformanceNHWC(t *testing.T) {
	for _, o := range []opstest.Options{
		{Layout: ops.NHWC},
		{Layout: ops.NHWC, MixLayouts: true},
		{Layout: ops.NHWC, DType: ops.BFloat16},
		{Layout: ops.NHWC, DType: ops.Float16},
		{Layout: ops.NHWC, DType: ops.BFloat16, MixLayouts: true},
	} {
		t.Run(fmt.Sprintf("%v_mixed%t", o.DType, o.MixLayouts), func(t *testing.T) {
			b := openOrSkip(t, FP32)
			defer closeOK(t, b)
			if !ops.SupportsLayout(b, ops.NHWC) {
				t.Fatal("the GPU backend does not say it stores NHWC")
			}
			opstest.Run(t, b, o)
		})
	}
}
