package opbytes

import "github.com/deepres/deepres/ops"

// Storage layouts (issue 22): Shapes stores both, and a Counter passes
// them through to the backend it wraps. The layout moves elements, not
// bytes: an op reads and writes the same tensors whichever way they lie,
// so a step counts the same bytes in NCHW and NHWC.

var (
	_ ops.LayoutSupporter = (*Shapes)(nil)
	_ ops.LayoutSupporter = (*Counter)(nil)
)

func (t *shapeTensor) Layout() ops.Layout { return t.layout }

func (s *Shapes) SupportsLayout(l ops.Layout) bool { return l == ops.NCHW || l == ops.NHWC }

func (s *Shapes) AllocLayout(d ops.DType, l ops.Layout, shape ...int) (ops.Tensor, error) {
	ops.CheckAllocLayout("opbytes", l, shape)
	t, err := s.AllocAs(d, shape...)
	if err == nil {
		t.(*shapeTensor).layout = l
	}
	return t, err
}

func (s *Shapes) ViewLayout(t ops.Tensor, l ops.Layout, offset int, shape ...int) ops.Tensor {
	st := s.get("ViewLayout", t)
	if st.layout == l {
		return s.View(t, offset, shape...)
	}
	ops.CheckRelayoutView("opbytes", st.layout, st.shape, l, shape)
	v := s.View(t, offset, shape...).(*shapeTensor)
	v.layout = l
	return v
}

func (c *Counter) SupportsLayout(l ops.Layout) bool { return ops.SupportsLayout(c.Inner, l) }

func (c *Counter) AllocLayout(d ops.DType, l ops.Layout, shape ...int) (ops.Tensor, error) {
	return ops.AllocLayout(c.Inner, d, l, shape...)
}

func (c *Counter) ViewLayout(t ops.Tensor, l ops.Layout, offset int, shape ...int) ops.Tensor {
	return ops.ViewLayout(c.Inner, t, l, offset, shape...)
}
