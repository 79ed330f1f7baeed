package layers

import "github.com/deepres/deepres/ops"

// Module is one differentiable step of a branch. Modules are built for the
// largest batch and then run on any batch up to it.
type Module interface {
	// Setup allocates the module's buffers for input shape in (largest batch
	// first) and returns the output shape.
	Setup(in ops.Shape) ops.Shape
	// Forward computes the output from x and remembers what the backward pass
	// needs. The returned tensor is owned by the module (or is x itself).
	Forward(x ops.Tensor) ops.Tensor
	// Backward takes dy, the gradient of the last Forward's output, writes
	// (add false) or adds (add true) the input gradient into dx, and writes
	// the parameter gradients. dx may be nil when no one needs it.
	Backward(dx, dy ops.Tensor, add bool)
	// KeepsOutput reports whether Backward reads the forward output, so
	// that callers must not overwrite it.
	KeepsOutput() bool
}

// withBatch returns s with its first dimension set to n.
func withBatch(s ops.Shape, n int) ops.Shape {
	t := s.Clone()
	t[0] = n
	return t
}
