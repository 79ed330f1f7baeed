package main

import (
	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/train"
)

const layoutUsage = "where 4-D activations and their gradients lie: nchw, nhwc (channels-last, as PyTorch's channels_last) or auto (nhwc for bf16/fp16 on a GPU that stores it, nchw otherwise); no value changes on the CPU"

// checkLayoutFlag refuses a --layout value that is not one of train.Layouts.
func checkLayoutFlag(layout string) error {
	for _, l := range train.Layouts {
		if layout == l {
			return nil
		}
	}
	return usagef("--layout: want nchw, nhwc or auto, got %q", layout)
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
		return 0, "", usagef("--layout %s: %s cannot store channels-last tensors; use --layout nchw or auto", l, b.Name())
	}
	return l, "", nil
}
