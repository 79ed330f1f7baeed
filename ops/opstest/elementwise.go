package opstest

import (
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
)

func addTensor(alpha, beta float32) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.AddTensor(ts[1], ts[0], alpha, beta) }
}

func mul(beta float32) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.Mul(ts[2], ts[0], ts[1], beta) }
}

func (s *suite) testAddTensor(t *testing.T) {
	x := f32s(1, 2, -3)
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				name: "alpha2_beta0.5", // 2·x + 0.5·(10, 20, 30)
				args: []arg{input("x", x, 3), update("y", f32s(10, 20, 30), 3)},
				op:   addTensor(2, 0.5),
				want: map[string][]float32{"y": f32s(7, 14, 9)},
			},
			{
				name: "beta0_overwrites_NaN", // y starts as NaN: beta 0 must not read it
				args: []arg{input("x", x, 3), output("y", 3)},
				op:   addTensor(-1, 0),
				want: map[string][]float32{"y": f32s(-1, -2, 3)},
			},
			{
				name: "alias_y_is_x", // (alpha + beta)·x
				args: []arg{update("x", x, 3)},
				op:   func(b ops.Backend, ts []ops.Tensor) { b.AddTensor(ts[0], ts[0], 2, 1) },
				want: map[string][]float32{"x": f32s(3, 6, -9)},
			},
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range elementwiseShapes(s.o.Short) {
			xs := uniform(rng, sh.Len(), -1, 1)
			cases = append(cases,
				opCase{
					name: fmt.Sprint(sh, "_beta0"),
					args: []arg{input("x", xs, sh...), output("y", sh...)},
					op:   addTensor(0.7, 0),
				},
				opCase{
					name: fmt.Sprint(sh, "_beta-0.5"),
					args: []arg{input("x", xs, sh...), update("y", uniform(rng, sh.Len(), -1, 1), sh...)},
					op:   addTensor(1.5, -0.5),
				})
		}
		s.runCases(t, cases)
	})
}

func (s *suite) testMul(t *testing.T) {
	a, bb := f32s(1, 2, 3), f32s(4, -5, 0.5)
	t.Run("hand", func(t *testing.T) {
		s.runCases(t, []opCase{
			{
				name: "beta2", // a⊙b + 2·1
				args: []arg{input("a", a, 3), input("b", bb, 3), update("y", f32s(1, 1, 1), 3)},
				op:   mul(2),
				want: map[string][]float32{"y": f32s(6, -8, 3.5)},
			},
			{
				name: "beta0_overwrites_NaN",
				args: []arg{input("a", a, 3), input("b", bb, 3), output("y", 3)},
				op:   mul(0),
				want: map[string][]float32{"y": f32s(4, -10, 1.5)},
			},
			{
				name: "alias_y_is_a", // a⊙b + a
				args: []arg{update("a", a, 3), input("b", bb, 3)},
				op:   func(b ops.Backend, ts []ops.Tensor) { b.Mul(ts[0], ts[0], ts[1], 1) },
				want: map[string][]float32{"a": f32s(5, -8, 4.5)},
			},
			{
				name: "alias_y_is_b", // a⊙b, b overwritten
				args: []arg{input("a", a, 3), update("b", bb, 3)},
				op:   func(b ops.Backend, ts []ops.Tensor) { b.Mul(ts[1], ts[0], ts[1], 0) },
				want: map[string][]float32{"b": f32s(4, -10, 1.5)},
			},
		})
	})
	t.Run("random", func(t *testing.T) {
		rng := newRand()
		var cases []opCase
		for _, sh := range elementwiseShapes(s.o.Short) {
			as, bs := uniform(rng, sh.Len(), -1, 1), uniform(rng, sh.Len(), -1, 1)
			cases = append(cases,
				opCase{
					name: fmt.Sprint(sh, "_beta0"),
					args: []arg{input("a", as, sh...), input("b", bs, sh...), output("y", sh...)},
					op:   mul(0),
				},
				opCase{
					name: fmt.Sprint(sh, "_beta1"),
					args: []arg{input("a", as, sh...), input("b", bs, sh...), update("y", uniform(rng, sh.Len(), -1, 1), sh...)},
					op:   mul(1),
				})
		}
		s.runCases(t, cases)
	})
}

func dropoutMask(p float32, seed uint64) func(b ops.Backend, ts []ops.Tensor) {
	return func(b ops.Backend, ts []ops.Tensor) { b.DropoutMask(ts[0], p, seed) }
}

// wantMask is the mask DropoutMask's contract pins: 1/(1−p) where
// ops.DropoutKeep keeps element i, else 0.
func wantMask(n int, p float32, seed uint64) []float32 {
	m := make([]float32, n)
	for i := range m {
		if ops.DropoutKeep(seed, i, p) {
			m[i] = 1 / (1 - p)
		}
	}
	return m
}

func (s *suite) testDropoutMask(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		var cases []opCase
		for _, c := range []struct {
			p    float32
			seed uint64
		}{{0.5, 1}, {0.3, 42}, {0, 7}, {0.9, 1 << 40}} {
			cases = append(cases, opCase{
				name: fmt.Sprintf("p%g_seed%d", c.p, c.seed),
				args: []arg{output("mask", 10, 101)},
				op:   dropoutMask(c.p, c.seed),
				want: map[string][]float32{"mask": wantMask(1010, c.p, c.seed)},
			})
		}
		s.runCases(t, cases)
	})
	t.Run("from_base", func(t *testing.T) {
		// The seed is split between the call and the device (a captured
		// step's): seed + base, with a carry across the 32-bit halves.
		var cases []opCase
		for _, c := range []struct{ seed, base uint64 }{{5, 1}, {0x9E3779B97F4A7C15, 0xFFFFFFFF}, {1 << 40, 1<<63 + 12345}} {
			w := ops.SeedWords(c.base)
			cases = append(cases, opCase{
				name: fmt.Sprintf("seed%d_base%d", c.seed, c.base),
				args: []arg{output("mask", 10, 101), input("base", w[:], 2)},
				op:   func(b ops.Backend, ts []ops.Tensor) { b.DropoutMaskFrom(ts[0], 0.4, c.seed, ts[1]) },
				want: map[string][]float32{"mask": wantMask(1010, 0.4, c.seed+c.base)},
			})
		}
		s.runCases(t, cases)
	})
	t.Run("kept_fraction", func(t *testing.T) {
		// A check on the pinned generator as much as on the backend: about
		// 1−p of 10000 elements are kept (4 standard deviations is 0.02).
		m := exec(t, s.b, []arg{output("mask", 10000)}, dropoutMask(0.5, 3))[0]
		kept := 0
		for _, v := range m {
			if v != 0 {
				kept++
			}
		}
		if f := float64(kept) / 10000; f < 0.48 || f > 0.52 {
			t.Errorf("kept fraction %.4f with p 0.5, want 0.5 ± 0.02", f)
		}
	})
	t.Run("random", func(t *testing.T) {
		var cases []opCase
		for i, sh := range elementwiseShapes(s.o.Short) {
			cases = append(cases, opCase{
				name: fmt.Sprint(sh),
				args: []arg{output("mask", sh...)},
				op:   dropoutMask(0.2, uint64(i)*1000003),
			})
		}
		s.runCases(t, cases)
	})
}
