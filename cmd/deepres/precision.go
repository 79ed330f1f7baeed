package main

import (
	"github.com/spf13/pflag"

	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/train"
)

const precisionUsage = "fp32 (float32, strict math), tf32 (float32 storage, TensorFloat-32 allowed on a GPU), bf16 or fp16 (activations and their gradients stored in half precision; weights, BN, the last layer and the loss stay float32; fp16 scales the loss). --math is its fp32/tf32 subset"

// resolvePrecision reconciles --precision with --math (issue 22): --math
// keeps working as the fp32/tf32 subset. It returns the GPU math and the
// precision to record; --precision fp32 or tf32 with a different typed
// --math is refused, and bf16/fp16 keep --math for the ops that stay
// float32 on a GPU.
func resolvePrecision(fs *pflag.FlagSet, precision, math string) (string, string, error) {
	if !fs.Changed("precision") {
		return math, math, nil
	}
	if _, err := train.StorageOf(precision); err != nil || precision == "" {
		return "", "", usagef("--precision: want fp32, tf32, bf16 or fp16, got %q", precision)
	}
	if precision == "fp32" || precision == "tf32" {
		if fs.Changed("math") && math != precision {
			return "", "", usagef("--math %s contradicts --precision %s (--math is the fp32/tf32 subset of --precision: give one)", math, precision)
		}
		return precision, precision, nil
	}
	return math, precision, nil
}

// checkPrecision refuses, as a usage error, a precision whose storage b
// cannot hold (ops.Supports). Both backends store every type today; a
// backend that does not says so here rather than failing mid-build.
func checkPrecision(b ops.Backend, precision string) error {
	d, err := train.StorageOf(precision)
	if err != nil {
		return usagef("--precision: %v", err)
	}
	if ops.Supports(b, d) {
		return nil
	}
	return usagef("--precision %s: %s cannot store %s tensors", precision, b.Name(), d)
}
