package cpuref_test

import (
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opstest"
)

func TestConformance(t *testing.T) { opstest.Run(t, cpuref.New(2), opstest.Options{}) }

// The CPU reference in each half storage type (issue 22): every op's cases
// with bfloat16 or float16 activations against float32 cpuref, tolerances
// from the type's unit roundoff (ops/opstest/precision.go).
func TestConformanceBFloat16(t *testing.T) {
	opstest.Run(t, cpuref.New(2), opstest.Options{DType: ops.BFloat16})
}

func TestConformanceFloat16(t *testing.T) {
	opstest.Run(t, cpuref.New(2), opstest.Options{DType: ops.Float16})
}

// Channels-last storage (issue 22): every op's cases with their 4-D
// tensors NHWC, then alternating NHWC and NCHW, against NCHW cpuref; and
// NHWC with each half type.
func TestConformanceNHWC(t *testing.T) {
	opstest.Run(t, cpuref.New(2), opstest.Options{Layout: ops.NHWC})
}

func TestConformanceMixedLayouts(t *testing.T) {
	opstest.Run(t, cpuref.New(2), opstest.Options{Layout: ops.NHWC, MixLayouts: true})
}

func TestConformanceNHWCBFloat16(t *testing.T) {
	opstest.Run(t, cpuref.New(2), opstest.Options{Layout: ops.NHWC, DType: ops.BFloat16})
}

func TestConformanceNHWCFloat16(t *testing.T) {
	opstest.Run(t, cpuref.New(2), opstest.Options{Layout: ops.NHWC, DType: ops.Float16})
}
