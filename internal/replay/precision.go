package replay

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// Storage types and float16 loss scaling pass through to the wrapped
// backend (issue 22): AllocAs like Alloc (refused while capturing), the
// loss-scaling ops recorded like every compute op, so a captured step
// decides its skip and its new scale at each launch.

var (
	_ ops.PrecisionSupporter = (*Backend)(nil)
	_ ops.LossScaler         = (*Backend)(nil)
)

func (r *Backend) SupportsDType(d ops.DType) bool { return ops.Supports(r.Backend, d) }

func (r *Backend) AllocAs(d ops.DType, shape ...int) (ops.Tensor, error) {
	r.notCapturing("AllocAs")
	return ops.AllocAs(r.Backend, d, shape...)
}

// scaler is the wrapped backend's LossScaler; a backend without one is a
// programming error of the caller, which asks ops.LossScaler first.
func (r *Backend) scaler() ops.LossScaler {
	s, ok := r.Backend.(ops.LossScaler)
	if !ok {
		panic(fmt.Sprintf("ops: %s has no float16 loss scaling (ops.LossScaler)", r.Backend.Name()))
	}
	return s
}

func (r *Backend) ScaleBy(x, s ops.Tensor) { r.do(func() { r.scaler().ScaleBy(x, s) }) }
func (r *Backend) UnscaleCheck(g, found, scale ops.Tensor) {
	r.do(func() { r.scaler().UnscaleCheck(g, found, scale) })
}
func (r *Backend) SGDUpdateUnlessFound(w, dw, v, found ops.Tensor, p ops.SGDParams) {
	r.do(func() { r.scaler().SGDUpdateUnlessFound(w, dw, v, found, p) })
}
func (r *Backend) UpdateScale(scale, tracker, found ops.Tensor, p ops.GradScalerParams) {
	r.do(func() { r.scaler().UpdateScale(scale, tracker, found, p) })
}
