package layers

import (
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
)

// TestActivationStorage: with Env.Act bfloat16, a conv's output (shared or
// stored), a BN's output, the scratch slots of activation gradients are
// bfloat16 (and so the weight copies the conv and linear ops read and
// write, halfWeight, which are scratch slots); parameters, their gradients, BN statistics and the linear layer's output
// stay float32 (Env.Act's list).
func TestActivationStorage(t *testing.T) {
	b := cpuref.New(1)
	e := NewEnv(b)
	e.Act = ops.BFloat16
	ps := &ParamSet{}
	conv := NewConv(e, ps, "c", 3, 4, 3, 1, 1)
	stored := NewConv(e, ps, "s", 4, 4, 3, 1, 1)
	stored.Stored = true
	bn := NewBatchNorm(e, ps, "bn", 4, true)
	fc := NewLinear(e, ps, "fc", 4, 2)
	ps.Bind(e)
	conv.Setup(ops.Shape{2, 3, 4, 4})
	stored.Setup(ops.Shape{2, 4, 4, 4})
	bn.Setup(ops.Shape{2, 4, 4, 4})
	fc.Setup(ops.Shape{2, 4})
	e.Scratch.Reserve(2 * 4 * 4 * 4)
	f := e.Scratch.Frame(1)
	slot := f.T(0, ops.Shape{2, 4, 4, 4})
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		t    ops.Tensor
		want ops.DType
	}{
		{"conv output", conv.y, ops.BFloat16},
		{"stored conv output", stored.y, ops.BFloat16},
		{"BN output", bn.y, ops.BFloat16},
		{"scratch slot", slot, ops.BFloat16},
		{"linear output", fc.buf, ops.Float32},
		{"BN saved mean", bn.saveMean, ops.Float32},
		{"parameters", ps.Values(), ops.Float32},
		{"gradients", ps.Grads(), ops.Float32},
	} {
		if got := ops.DTypeOf(c.t); got != c.want {
			t.Errorf("%s is %v, want %v", c.name, got, c.want)
		}
	}
	f.Done()

	// In float32 the ops read the parameters themselves: no copies.
	e32 := NewEnv(b)
	ps32 := &ParamSet{}
	conv32 := NewConv(e32, ps32, "c", 3, 4, 3, 1, 1)
	ps32.Bind(e32)
	conv32.Setup(ops.Shape{2, 3, 4, 4})
	f32 := conv32.w.frame(2)
	if conv32.w.cast(f32, 0) != conv32.W.Value || conv32.w.grad(f32, 1) != conv32.W.Grad {
		t.Error("a float32 conv reads a copy of its weight")
	}
	f32.Done()
}

// TestHalfWeightCast: with bfloat16 activations a conv computes with its
// weight rounded to bfloat16 (the copy cast each forward pass) and its
// float32 gradient holds the bfloat16 gradient widened, as autocast's
// conv2d does.
func TestHalfWeightCast(t *testing.T) {
	b := cpuref.New(1)
	e := NewEnv(b)
	e.Act = ops.BFloat16
	ps := &ParamSet{}
	conv := NewConv(e, ps, "c", 2, 3, 3, 1, 1)
	ps.Bind(e)
	in := ops.Shape{2, 2, 4, 4}
	conv.Setup(in)
	x := e.AllocAs(ops.BFloat16, in...)
	dy := e.AllocAs(ops.BFloat16, 2, 3, 4, 4)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	w := make([]float32, conv.W.Shape.Len())
	for i := range w {
		w[i] = 0.1 + float32(i)/3 // most need more than bfloat16's 8 bits
	}
	b.CopyIn(conv.W.Value, w)
	b.CopyIn(x, ramp(in.Len(), 0.37))
	b.CopyIn(dy, ramp(2*3*4*4, -0.21))

	y := conv.Forward(x)
	conv.Backward(nil, dy, false)

	// The reference: the same ops on float32 tensors holding the rounded weight.
	wr := append([]float32(nil), w...)
	ops.RoundSlice(ops.BFloat16, wr)
	w32, _ := b.Alloc(conv.W.Shape...)
	y32, _ := ops.AllocAs(b, ops.BFloat16, 2, 3, 4, 4)
	dw32, _ := ops.AllocAs(b, ops.BFloat16, conv.W.Shape...)
	b.CopyIn(w32, wr)
	b.ConvForward(y32, x, w32, conv.P)
	b.ConvBackwardFilter(dw32, dy, x, conv.P)
	for _, c := range []struct {
		name      string
		got, want ops.Tensor
	}{{"y", y, y32}, {"W.Grad", conv.W.Grad, dw32}} {
		got, want := readAll(t, b, c.got), readAll(t, b, c.want)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s[%d] = %g, want %g (the bfloat16-weight conv)", c.name, i, got[i], want[i])
			}
		}
	}
}

func ramp(n int, step float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%7-3) * step
	}
	return v
}

func readAll(t *testing.T, b ops.Backend, x ops.Tensor) []float32 {
	t.Helper()
	h := make([]float32, x.Shape().Len())
	if err := b.CopyOut(h, x); err != nil {
		t.Fatal(err)
	}
	return h
}
