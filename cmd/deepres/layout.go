package main

import (
	"strings"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/train"
)

const layoutUsage = "where 4-D activations and their gradients lie: nchw, nhwc (channels-last, as PyTorch's channels_last; CPU reference only in this version) or auto (nhwc for bf16/fp16 on a GPU that stores it, nchw otherwise); no value changes on the CPU"

// checkLayoutFlag refuses a --layout value that is not one of train.Layouts.
func checkLayoutFlag(layout string) error {
	for _, l := range train.Layouts {
		if layout == l {
			return nil
		}
	}
	return usagef("--layout: want nchw, nhwc or auto, got %q", layout)
}

// checkLayoutDevice refuses --layout nhwc on a GPU named by --device
// before opening it, so the error is the same with or without one, as
// checkPrecisionDevice does for half precision. The GPU backend does not
// implement ops.LayoutSupporter yet; the change that adds it drops this.
func checkLayoutDevice(device, layout string) error {
	if layout == "nhwc" && (device == "cuda" || strings.HasPrefix(device, "cuda:")) {
		return usagef("--layout nhwc: channels-last storage runs only on the CPU reference (--device cpu) in this version; the GPU backend stores nchw only (use --layout nchw or auto)")
	}
	return nil
}

// resolveLayout is the layout a run stores on b for --layout (or a
// recorded layout): auto picks by train.AutoLayout, saying why in note
// when a GPU in half precision gets nchw; nhwc on a backend that cannot
// store it is a usage error.
func resolveLayout(b ops.Backend, layout, precision string) (l ops.Layout, note string, err error) {
	if err := checkLayoutFlag(layout); err != nil && layout != "" {
		return 0, "", err
	}
	if layout == "auto" {
		_, cpu := b.(*cpuref.Backend)
		l, note = train.AutoLayout(b, !cpu, precision)
		return l, note, nil
	}
	l, _ = train.LayoutOf(layout)
	if !ops.SupportsLayout(b, l) {
		return 0, "", usagef("--layout %s: %s cannot store channels-last tensors in this version (the GPU backend stores nchw only); use --layout nchw or auto", l, b.Name())
	}
	return l, "", nil
}
