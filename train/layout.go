package train

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// Layouts are the values of --layout (issue 22): nchw and nhwc store 4-D
// activations and their gradients in that order (channels-last for nhwc,
// as PyTorch's channels_last); auto picks nhwc for half precision on a
// GPU that stores it, where NVIDIA's kernels for half data want NHWC
// (NVIDIA's Deep Learning Performance guide, "Tensor Layouts In Memory:
// NCHW vs NHWC"), and nchw otherwise. The layout changes no value on the
// CPU reference (cpuref/layout.go).
var Layouts = []string{"nchw", "nhwc", "auto"}

// LayoutOf is the storage layout a recorded Config.Layout names ("" is a
// run recorded before --layout existed: nchw). auto is not a recorded
// value: it is resolved for the device first (AutoLayout).
func LayoutOf(s string) (ops.Layout, error) {
	switch s {
	case "", "nchw":
		return ops.NCHW, nil
	case "nhwc":
		return ops.NHWC, nil
	}
	return 0, fmt.Errorf("layout: want nchw or nhwc, got %q", s)
}

// AutoLayout is --layout auto on b: nhwc for a half precision on a GPU
// that can store it (ops.SupportsLayout: the gpu backend does), nchw
// otherwise. why says the reason when a GPU in half precision gets nchw
// (a backend without ops.LayoutSupporter), for the start-up message; it
// is empty otherwise.
func AutoLayout(b ops.Backend, gpu bool, precision string) (l ops.Layout, why string) {
	d, _ := StorageOf(precision)
	if !gpu || d == ops.Float32 {
		return ops.NCHW, ""
	}
	if ops.SupportsLayout(b, ops.NHWC) {
		return ops.NHWC, ""
	}
	return ops.NCHW, fmt.Sprintf("--layout auto: nchw, since %s cannot store nhwc tensors (auto would pick nhwc for %s on a GPU)", b.Name(), precision)
}
