package opstest

import (
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
)

// role says what an op may do to one of its tensor arguments.
type role int

const (
	in    role = iota // read only: must come back bitwise unchanged
	out               // written: poisoned with NaN before, must hold no NaN after
	inout             // read and updated (add=true gradients, running statistics, SGD state)
)

// arg is one tensor argument of an op under test.
type arg struct {
	name  string
	role  role
	shape ops.Shape
	data  []float32 // contents before the op; ignored for out
	dtype ops.DType // storage type (precision.go); float32 unless a half pass sets it
	// layout is the storage layout (layout.go); NCHW unless an NHWC pass sets it
	layout ops.Layout
	// typing overrides precision.go's rule by name: cast is stored in a
	// half pass's type although its name says parameter (a conv's or
	// linear layer's weight copy, layers.halfWeight); keep32 stays float32
	// although its name says activation (the linear layer's logits).
	cast, keep32 bool
}

func input(name string, data []float32, shape ...int) arg {
	return arg{name: name, role: in, shape: shape, data: data}
}

func output(name string, shape ...int) arg {
	return arg{name: name, role: out, shape: shape}
}

func update(name string, data []float32, shape ...int) arg {
	return arg{name: name, role: inout, shape: shape, data: data}
}

// opCase is one call of an op: its arguments and the call itself, which
// gets the tensors in the order of args. With want set, results are checked
// against those hand-computed values (by argument name); without, every
// output is compared with the reference backend's.
type opCase struct {
	name string
	args []arg
	op   func(b ops.Backend, ts []ops.Tensor)
	want map[string][]float32
}

// exec runs op on b over fresh tensors holding args and returns every
// argument's contents afterwards. Outputs are poisoned with NaN first and
// must hold no NaN after; inputs are copied out before and after the op and
// must not change. Sync must return nil.
func exec(t *testing.T, b ops.Backend, args []arg, op func(b ops.Backend, ts []ops.Tensor)) [][]float32 {
	t.Helper()
	ts := make([]ops.Tensor, len(args))
	before := make([][]float32, len(args))
	for i, a := range args {
		x, err := ops.AllocLayout(b, a.dtype, a.layout, a.shape...)
		if err != nil {
			t.Fatalf("AllocLayout(%v, %v, %v): %v", a.dtype, a.layout, a.shape, err)
		}
		defer b.Free(x)
		ts[i] = x
		if a.role == out {
			b.CopyIn(x, filled(a.shape.Len(), nan32()))
			continue
		}
		if len(a.data) != a.shape.Len() {
			panic(fmt.Sprintf("opstest: %s has %d values for shape %v", a.name, len(a.data), a.shape))
		}
		b.CopyIn(x, clone(a.data))
		if a.role == in {
			before[i] = read(t, b, x)
		}
	}
	op(b, ts)
	if err := b.Sync(); err != nil {
		t.Fatalf("Sync after the op: %v", err)
	}
	res := make([][]float32, len(args))
	for i, a := range args {
		res[i] = read(t, b, ts[i])
		if a.role == in {
			requireBitwise(t, a.name+" (an input)", res[i], before[i])
		} else {
			requireNoNaN(t, a.name, res[i])
			requireRepresentable(t, a.name, a.dtype, res[i])
		}
	}
	return res
}

// requireRepresentable fails t unless every value of an output of storage
// type d is one d can hold: a backend must round what it stores (the
// tolerances of a half pass would hide an output left unrounded).
func requireRepresentable(t *testing.T, name string, d ops.DType, x []float32) {
	t.Helper()
	if d == ops.Float32 {
		return
	}
	bad := 0
	for i, v := range x {
		if r := ops.Round(d, v); r != v && !(r != r && v != v) {
			if bad < maxReported {
				t.Errorf("%s: [%d] = %v is not a %v value (nearest %v)", name, i, v, d, r)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements not rounded to %v", name, bad, len(x), d)
	}
}

// read copies x out of b, failing t on a device error.
func read(t *testing.T, b ops.Backend, x ops.Tensor) []float32 {
	t.Helper()
	h := make([]float32, x.Shape().Len())
	if err := b.CopyOut(h, x); err != nil {
		t.Fatalf("CopyOut: %v", err)
	}
	return h
}

// tensor allocates a tensor on b holding data (zeros if data is nil) that
// is freed when t ends.
func tensor(t *testing.T, b ops.Backend, data []float32, shape ...int) ops.Tensor {
	t.Helper()
	x, err := b.Alloc(shape...)
	if err != nil {
		t.Fatalf("Alloc%v: %v", shape, err)
	}
	t.Cleanup(func() { b.Free(x) })
	if data != nil {
		b.CopyIn(x, clone(data))
	}
	return x
}

// runCases runs each case as a subtest: against its hand-computed want, or
// against the reference backend.
func (s *suite) runCases(t *testing.T, cases []opCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := exec(t, s.b, s.typed(c.args), c.op)
			if c.want != nil && s.o.DType == ops.Float32 { // in any layout: the values are logical
				s.checkWant(t, c, got)
				return
			}
			// A half pass compares even hand cases with the float32
			// reference on the same (rounded) inputs: the hand values hold
			// for the unrounded ones.
			want := exec(t, s.ref, s.reference(c.args), c.op)
			for i, a := range c.args {
				if a.role != in {
					requireClose(t, a.name, got[i], want[i], s.o.Atol, s.o.Rtol)
				}
			}
		})
	}
}

func (s *suite) checkWant(t *testing.T, c opCase, got [][]float32) {
	t.Helper()
	seen := 0
	for i, a := range c.args {
		if w, ok := c.want[a.name]; ok {
			requireClose(t, a.name, got[i], w, s.o.Atol, s.o.Rtol)
			seen++
		}
	}
	if seen != len(c.want) {
		panic("opstest: case " + c.name + " wants a result for an argument it does not have")
	}
}

// checkAdd checks the add flag of a gradient op: args[dx] is its output;
// with add=true over a pre-filled dx the result must be the pre-fill plus
// what add=false writes.
func (s *suite) checkAdd(t *testing.T, args []arg, dx int, op func(b ops.Backend, ts []ops.Tensor, add bool)) {
	t.Helper()
	plain := exec(t, s.b, s.typed(args), func(b ops.Backend, ts []ops.Tensor) { op(b, ts, false) })[dx]
	prefill := make([]float32, len(plain))
	want := make([]float32, len(plain))
	for i := range prefill {
		prefill[i] = float32(i%7) - 3.25 // exact in bfloat16 and float16 too
		want[i] = prefill[i] + plain[i]
	}
	added := append([]arg(nil), args...)
	added[dx] = update(args[dx].name, prefill, args[dx].shape...)
	got := exec(t, s.b, s.typed(added), func(b ops.Backend, ts []ops.Tensor) { op(b, ts, true) })[dx]
	if s.typed(args)[dx].dtype != ops.Float32 {
		requireSumClose(t, args[dx].name+" with add=true", got, prefill, plain, s.o.Atol, s.o.Rtol)
		return
	}
	requireClose(t, args[dx].name+" with add=true", got, want, s.o.Atol, s.o.Rtol)
}
