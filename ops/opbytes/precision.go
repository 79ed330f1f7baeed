package opbytes

import "github.com/deepres/deepres/ops"

// Storage types (issue 22): Shapes stores every type, so a step counts
// 2 bytes per element of a half tensor (ops.ElemBytes); a Counter passes
// AllocAs through to the backend it wraps.

var (
	_ ops.PrecisionSupporter = (*Shapes)(nil)
	_ ops.PrecisionSupporter = (*Counter)(nil)
)

func (s *Shapes) SupportsDType(d ops.DType) bool {
	return d == ops.Float32 || d == ops.BFloat16 || d == ops.Float16
}

func (c *Counter) SupportsDType(d ops.DType) bool { return ops.Supports(c.Inner, d) }

func (c *Counter) AllocAs(d ops.DType, shape ...int) (ops.Tensor, error) {
	return ops.AllocAs(c.Inner, d, shape...)
}

// float16 loss scaling's ops (ops.LossScaler), counted like the others:
// each tensor argument once (twice where read and written). A skipped
// SGDUpdateUnlessFound moves nothing, but the count is of the ops a step
// issues, as for every op.
func init() {
	Roles["ScaleBy"] = []Role{RW, R}
	Roles["UnscaleCheck"] = []Role{RW, RW, R}            // g, found, scale
	Roles["SGDUpdateUnlessFound"] = []Role{RW, R, RW, R} // w, dw, v, found
	Roles["UpdateScale"] = []Role{RW, RW, R}             // scale, tracker, found
}

var (
	_ ops.LossScaler = (*Shapes)(nil)
	_ ops.LossScaler = (*Counter)(nil)
)

func (s *Shapes) ScaleBy(x, sc ops.Tensor)                                             {}
func (s *Shapes) UnscaleCheck(g, found, scale ops.Tensor)                              {}
func (s *Shapes) SGDUpdateUnlessFound(w, dw, v, found ops.Tensor, p ops.SGDParams)     {}
func (s *Shapes) UpdateScale(scale, tracker, found ops.Tensor, p ops.GradScalerParams) {}

func (c *Counter) scaler() ops.LossScaler { return c.Inner.(ops.LossScaler) }

func (c *Counter) ScaleBy(x, s ops.Tensor) {
	c.add("ScaleBy", false, x, s)
	c.scaler().ScaleBy(x, s)
}

func (c *Counter) UnscaleCheck(g, found, scale ops.Tensor) {
	c.add("UnscaleCheck", false, g, found, scale)
	c.scaler().UnscaleCheck(g, found, scale)
}

func (c *Counter) SGDUpdateUnlessFound(w, dw, v, found ops.Tensor, p ops.SGDParams) {
	c.add("SGDUpdateUnlessFound", false, w, dw, v, found)
	c.scaler().SGDUpdateUnlessFound(w, dw, v, found, p)
}

func (c *Counter) UpdateScale(scale, tracker, found ops.Tensor, p ops.GradScalerParams) {
	c.add("UpdateScale", false, scale, tracker, found)
	c.scaler().UpdateScale(scale, tracker, found, p)
}
