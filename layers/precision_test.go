package layers

import (
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
)

// TestActivationStorage: with Env.Act bfloat16, a conv's output (shared or
// stored), a BN's output, the scratch slots of activation gradients are
// bfloat16; parameters, their gradients, BN statistics and the linear
// layer's output stay float32 (Env.Act's list).
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
}
