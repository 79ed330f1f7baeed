package train

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// Precisions are the values of --precision (issue 22): fp32 and tf32 store
// float32 and pick the GPU's math (strict float32, or TensorFloat-32 in
// convolutions and GEMMs: the two --math values); bf16 and fp16 store
// activations and their gradients in bfloat16 or float16. What stays
// float32 in every precision is listed at layers.Env.Act.
var Precisions = []string{"fp32", "tf32", "bf16", "fp16"}

// StorageOf is the activation storage type of precision p ("" is a run
// recorded before --precision existed: float32).
func StorageOf(p string) (ops.DType, error) {
	switch p {
	case "", "fp32", "tf32":
		return ops.Float32, nil
	case "bf16":
		return ops.BFloat16, nil
	case "fp16":
		return ops.Float16, nil
	}
	return 0, fmt.Errorf("precision: want fp32, tf32, bf16 or fp16, got %q", p)
}

// PrecisionOf is the precision of a configuration: its own, or, in runs
// recorded before Config.Precision existed, its Math (float32 storage).
func (c Config) PrecisionOf() string {
	switch {
	case c.Precision != "":
		return c.Precision
	case c.Math != "":
		return c.Math
	}
	return "tf32"
}
