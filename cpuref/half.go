package cpuref

import "github.com/deepres/deepres/ops"

// The CPU reference emulates half-precision storage (issue 22): every op
// computes in float32 or float64 exactly as for float32 tensors, reading
// half inputs as the float32 values they hold, and rounds each output of
// a half type to that type when it stores it (ops.Round: nearest, ties to
// even; float16 overflows to inf and keeps subnormals). That is what a GPU
// kernel that accumulates in float32 and writes half does, e.g. cuDNN's
// convolutions with CUDNN_DATA_HALF / CUDNN_DATA_BFLOAT16 tensors and a
// float32 compute type (cudnn_graph.h, cudnnDataType_t and the compute
// type of cudnnSetConvolution2dDescriptor). Parameters, their gradients,
// batch-norm statistics and the loss are float32 tensors here, so they
// are never rounded: which tensors are half is decided where they are
// allocated (layers.Env.Act), not by the ops.

var _ ops.PrecisionSupporter = (*Backend)(nil)

// SupportsDType: the CPU reference stores every type ops defines.
func (b *Backend) SupportsDType(d ops.DType) bool {
	return d == ops.Float32 || d == ops.BFloat16 || d == ops.Float16
}

// store rounds each half tensor's elements to its type, in place: called
// by every op on its outputs after it has written them.
func (b *Backend) store(ts ...*tensor) {
	for _, t := range ts {
		if t != nil && t.dtype != ops.Float32 {
			ops.RoundSlice(t.dtype, t.data)
		}
	}
}
