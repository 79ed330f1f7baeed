package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opstest"
)

// Sizes that only appear at scale, made to appear in small tests: the
// conformance suite with a grid of one block (every grid-stride loop must
// go round; the default cap is 8192 blocks, 2^21 threads, reached only
// by tensors of 2^21 elements and more) and a staging buffer of a few KiB
// (every upload past it wraps around). The NHWC pass, mixed with NCHW,
// runs the layout-indexed kernels, the conversions of a mix and the
// host-side reordering of CopyIn and CopyOut under the same limits.
func TestConformanceGridOne(t *testing.T) {
	defer SetMaxGrid(1)()
	defer SetStagingSize(4 << 10)()
	for _, o := range []opstest.Options{{}, {Layout: ops.NHWC, MixLayouts: true}} {
		t.Run(fmt.Sprintf("%v_mixed%t", o.Layout, o.MixLayouts), func(t *testing.T) {
			b := openOrSkip(t, FP32)
			defer closeOK(t, b)
			opstest.Run(t, b, o)
		})
	}
}

// Uploads queued back to back through a small staging buffer, some fitting
// behind the previous ones, some wrapping around, one larger than the
// buffer, all read back: an upload must never read staging bytes that a
// later one has already overwritten (reserve waits for the stream before it
// reuses the buffer; the simulator holds each upload back 20 ms, so a
// missing wait shows every time).
func TestStagingWrap(t *testing.T) {
	defer SetStagingSize(4 << 10)()
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	sizes := []int{640, 512, 100, 1024, 1000, 3000, 300, 7}
	var ts []ops.Tensor
	var want [][]float32
	for k, n := range sizes {
		x, err := b.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Free(x)
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(k*10000 + i)
		}
		b.CopyIn(x, v)
		ts, want = append(ts, x), append(want, v)
	}
	for k, x := range ts {
		got := make([]float32, sizes[k])
		if err := b.CopyOut(got, x); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[k][i] {
				t.Errorf("upload %d (%d floats): element %d = %v, want %v (another upload's staging bytes?)",
					k, sizes[k], i, got[i], want[k][i])
				break
			}
		}
	}
}

// scaleN is just above what the default grid covers in one pass
// (8192 blocks × 256 threads = 2^21), and not a multiple of a block.
const scaleN = 1<<21 + 1 + 300

// Every grid-stride kernel at a size above 2^21 + 1 elements, with the
// default grid, compared with cpuref element by element.
func TestElementwiseAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 2^21-element tensors (TestConformanceGridOne covers the loops at small sizes)")
	}
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	ref := cpuref.New(0)
	defer ref.Close()
	rng := rand.New(rand.NewPCG(24, 1))
	random := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	n := scaleN
	planes := scaleN // GAP: one element per plane, so the grid covers planes
	type arg struct {
		shape ops.Shape
		data  []float32 // nil: an output, poisoned with NaN
	}
	lr := []float32{0.05}
	seed := ops.SeedWords(1 << 33)
	cases := []struct {
		name string
		args []arg
		op   func(be ops.Backend, ts []ops.Tensor)
	}{
		{"AddTensor", []arg{{ops.Shape{n}, random(n)}, {ops.Shape{n}, random(n)}},
			func(be ops.Backend, ts []ops.Tensor) { be.AddTensor(ts[0], ts[1], 0.5, 2) }},
		{"Mul", []arg{{ops.Shape{n}, random(n)}, {ops.Shape{n}, random(n)}, {ops.Shape{n}, random(n)}},
			func(be ops.Backend, ts []ops.Tensor) { be.Mul(ts[0], ts[1], ts[2], 1) }},
		{"SigmoidBackward", []arg{{ops.Shape{n}, random(n)}, {ops.Shape{n}, random(n)}, {ops.Shape{n}, random(n)}},
			func(be ops.Backend, ts []ops.Tensor) { be.SigmoidBackward(ts[0], ts[1], ts[2], true) }},
		{"DropoutMask", []arg{{ops.Shape{n}, nil}},
			func(be ops.Backend, ts []ops.Tensor) { be.DropoutMask(ts[0], 0.3, 99) }},
		{"DropoutMaskFrom", []arg{{ops.Shape{n}, nil}, {ops.Shape{2}, seed[:]}},
			func(be ops.Backend, ts []ops.Tensor) { be.DropoutMaskFrom(ts[0], 0.3, 99, ts[1]) }},
		{"AddBias", []arg{{ops.Shape{3, 5, 373, 375}, random(3 * 5 * 373 * 375)}, {ops.Shape{5}, random(5)}},
			func(be ops.Backend, ts []ops.Tensor) { be.AddBias(ts[0], ts[1]) }},
		{"ShortcutAForward", []arg{{ops.Shape{2, 1024, 33, 32}, nil}, {ops.Shape{2, 1024, 66, 64}, random(2 * 1024 * 66 * 64)}},
			func(be ops.Backend, ts []ops.Tensor) { be.ShortcutAForward(ts[0], ts[1]) }},
		{"ShortcutABackward", []arg{{ops.Shape{2, 512, 66, 64}, random(2 * 512 * 66 * 64)}, {ops.Shape{2, 1024, 33, 32}, random(2 * 1024 * 33 * 32)}},
			func(be ops.Backend, ts []ops.Tensor) { be.ShortcutABackward(ts[0], ts[1], true) }},
		{"GlobalAvgPoolForward", []arg{{ops.Shape{1, planes}, nil}, {ops.Shape{1, planes, 1, 2}, random(2 * planes)}},
			func(be ops.Backend, ts []ops.Tensor) { be.GlobalAvgPoolForward(ts[0], ts[1]) }},
		{"GlobalAvgPoolBackward", []arg{{ops.Shape{1, planes, 1, 2}, random(2 * planes)}, {ops.Shape{1, planes}, random(planes)}},
			func(be ops.Backend, ts []ops.Tensor) { be.GlobalAvgPoolBackward(ts[0], ts[1], true) }},
		{"SoftmaxCrossEntropy", []arg{{ops.Shape{n, 2}, nil}, {ops.Shape{n}, nil}, {ops.Shape{n}, nil},
			{ops.Shape{n, 2}, random(2 * n)}, {ops.Shape{n}, labels(n, 2)}},
			func(be ops.Backend, ts []ops.Tensor) { be.SoftmaxCrossEntropy(ts[0], ts[1], ts[2], ts[3], ts[4]) }},
		{"SGDUpdate", []arg{{ops.Shape{n}, random(n)}, {ops.Shape{n}, random(n)}, {ops.Shape{n}, random(n)}},
			func(be ops.Backend, ts []ops.Tensor) {
				be.SGDUpdate(ts[0], ts[1], ts[2], ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true})
			}},
		{"SGDUpdate_LRTensor", []arg{{ops.Shape{n}, random(n)}, {ops.Shape{n}, random(n)}, {ops.Shape{n}, random(n)}, {ops.Shape{1}, lr}},
			func(be ops.Backend, ts []ops.Tensor) {
				be.SGDUpdate(ts[0], ts[1], ts[2], ops.SGDParams{Momentum: 0.9, WeightDecay: 1e-4, LRTensor: ts[3]})
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got, want [][]float32
			for _, be := range []ops.Backend{b, ref} {
				ts := make([]ops.Tensor, len(c.args))
				for i, a := range c.args {
					x, err := be.Alloc(a.shape...)
					if err != nil {
						t.Fatal(err)
					}
					defer be.Free(x)
					if a.data != nil {
						be.CopyIn(x, a.data)
					} else {
						be.Fill(x, float32(math.NaN()))
					}
					ts[i] = x
				}
				c.op(be, ts)
				var outs [][]float32
				for i, a := range c.args {
					v := make([]float32, a.shape.Len())
					if err := be.CopyOut(v, ts[i]); err != nil {
						t.Fatalf("%s: CopyOut of argument %d: %v", be.Name(), i, err)
					}
					outs = append(outs, v)
				}
				if be == ops.Backend(b) {
					got = outs
				} else {
					want = outs
				}
			}
			for i := range got {
				if err := elementwiseClose(got[i], want[i]); err != nil {
					t.Errorf("argument %d (%v): %v", i, c.args[i].shape, err)
				}
			}
		})
	}
}

// labels are n class indices below k, as floats.
func labels(n, k int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i % k)
	}
	return v
}

// elementwiseClose compares every element (NaN only matches NaN) and names
// the first that differs.
func elementwiseClose(got, want []float32) error {
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) || math.Abs(g-w) > 1e-6+1e-5*math.Abs(w) {
			return fmt.Errorf("element %d of %d: got %v, cpuref %v", i, len(got), got[i], want[i])
		}
	}
	return nil
}
