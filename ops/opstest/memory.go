package opstest

import (
	"math"
	"testing"

	"github.com/deepres/deepres/ops"
)

func (s *suite) testMemory(t *testing.T) {
	b := s.b
	t.Run("Alloc_zeroed", func(t *testing.T) {
		// Dirty a buffer and free it first, so that an allocator reusing
		// it must still hand out zeros.
		x, err := b.Alloc(3, 5)
		if err != nil {
			t.Fatal(err)
		}
		b.Fill(x, 7)
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		b.Free(x)
		y, err := b.Alloc(3, 5)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Free(y)
		if !y.Shape().Equal(ops.Shape{3, 5}) {
			t.Errorf("Alloc(3, 5) has shape %v", y.Shape())
		}
		requireBitwise(t, "new tensor", read(t, b, y), make([]float32, 15))
	})
	t.Run("CopyIn_CopyOut_bitwise", func(t *testing.T) {
		// Special values must round-trip bit for bit: NaN, infinities, −0, a subnormal.
		want := []float32{nan32(), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)),
			1e-40, math.MaxFloat32, -1.5, 3}
		x := tensor(t, b, want, 2, 4)
		requireBitwise(t, "round trip", read(t, b, x), want)
	})
	t.Run("Copy", func(t *testing.T) {
		// Equal lengths, different shapes.
		src := uniform(newRand(), 6, -1, 1)
		got := exec(t, b, []arg{input("src", src, 3, 2), output("dst", 2, 3)}, func(b ops.Backend, ts []ops.Tensor) { b.Copy(ts[1], ts[0]) })
		requireBitwise(t, "dst", got[1], src)
	})
	t.Run("Fill", func(t *testing.T) {
		for _, v := range []float32{2.5, 0, -1e30} {
			got := exec(t, b, []arg{output("x", 7, 3)}, func(b ops.Backend, ts []ops.Tensor) { b.Fill(ts[0], v) })[0]
			requireBitwise(t, "filled", got, filled(21, v))
		}
	})
	t.Run("Free_nil", func(t *testing.T) {
		if msg, panicked := catch(func() { b.Free(nil) }); panicked {
			t.Errorf("Free(nil) panicked: %s", msg)
		}
	})
	t.Run("Sync", func(t *testing.T) {
		if err := b.Sync(); err != nil {
			t.Errorf("Sync after valid work: %v", err)
		}
	})
}

func (s *suite) testView(t *testing.T) {
	b := s.b
	const guard = 12345 // what elements outside a view hold, and must keep
	t.Run("writes_through", func(t *testing.T) {
		parent := tensor(t, b, filled(10, guard), 10)
		v := b.View(parent, 2, 2, 3) // elements 2..7
		if !v.Shape().Equal(ops.Shape{2, 3}) {
			t.Errorf("View shape %v, want (2,3)", v.Shape())
		}
		b.Fill(v, 7)
		requireBitwise(t, "parent after Fill(view)", read(t, b, parent), f32s(guard, guard, 7, 7, 7, 7, 7, 7, guard, guard))
		b.CopyIn(v, f32s(1, 2, 3, 4, 5, 6))
		requireBitwise(t, "parent after CopyIn(view)", read(t, b, parent), f32s(guard, guard, 1, 2, 3, 4, 5, 6, guard, guard))
		vv := b.View(v, 1, 2) // a view of a view: parent's elements 3 and 4
		b.Fill(vv, -1)
		requireBitwise(t, "parent after Fill(view of view)", read(t, b, parent), f32s(guard, guard, 1, -1, -1, 4, 5, 6, guard, guard))
		b.CopyIn(parent, iota32(10, 0))
		requireBitwise(t, "view after CopyIn(parent)", read(t, b, v), iota32(6, 2))
		requireBitwise(t, "view of view after CopyIn(parent)", read(t, b, vv), f32s(3, 4))
	})
	t.Run("op_output", func(t *testing.T) {
		// An op writing a view leaves the rest of the parent alone.
		parent := tensor(t, b, filled(12, guard), 12)
		x := tensor(t, b, f32s(-1, 2, -3, 4), 2, 2)
		b.ReLUForward(b.View(parent, 5, 2, 2), x)
		requireBitwise(t, "parent", read(t, b, parent), f32s(guard, guard, guard, guard, guard, 0, 2, 0, 4, guard, guard, guard))
	})
	t.Run("op_input", func(t *testing.T) {
		parent := tensor(t, b, iota32(9, -4), 9)
		y := tensor(t, b, nil, 1, 1)
		b.Reduce(y, b.View(parent, 6, 3), ops.ReduceSum) // 2 + 3 + 4
		requireClose(t, "sum over a view", read(t, b, y), f32s(9), s.o.Atol, s.o.Rtol)
	})
	t.Run("SGD_over_carved_parameters", func(t *testing.T) {
		// The way a model steps all its parameters at once: one SGDUpdate
		// over the whole allocation is seen through each parameter's view.
		w := tensor(t, b, f32s(1, 2, 3, 4, 5), 5)
		dw := tensor(t, b, f32s(1, 1, 1, 1, 1), 5)
		v := tensor(t, b, nil, 5)
		w1, w2 := b.View(w, 0, 2), b.View(w, 2, 3)
		b.SGDUpdate(w, dw, v, ops.SGDParams{LR: 0.5})
		requireClose(t, "first view", read(t, b, w1), f32s(0.5, 1.5), s.o.Atol, s.o.Rtol)
		requireClose(t, "second view", read(t, b, w2), f32s(2.5, 3.5, 4.5), s.o.Atol, s.o.Rtol)
		// And an update through one view moves only its own elements.
		b.SGDUpdate(w2, b.View(dw, 2, 3), b.View(v, 2, 3), ops.SGDParams{LR: 0.5})
		requireClose(t, "after a step through the second view", read(t, b, w), f32s(0.5, 1.5, 2, 3, 4), s.o.Atol, s.o.Rtol)
	})
}
