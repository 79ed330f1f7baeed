package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
)

// The library-backed ops (cuDNN's convolutions, batch norm and activations,
// cuBLAS's GEMMs) in bfloat16 and float16, each compared with cpuref
// storing the same types: both start from the same rounded inputs, compute
// in float32 or wider and round each half output once, so an output of
// type d may differ by the float32 tolerance plus one rounding on each
// side:
//
//	|got − want| <= atol + 2^-24 + (rtol + 2u)·|want|,  u = d.UnitRoundoff()
//
// (the 2^-24 being float16's subnormal spacing), as in ops/opstest's
// halfTolerance. A descriptor of the wrong type, a half compute type
// (partial sums rounded to half) or a GEMM reading the wrong type is far
// outside it.

// spec is one tensor of a case: type, shape, and initial contents (nil for
// an output, which starts as NaN and must be fully written).
type spec struct {
	name  string
	d     ops.DType
	shape []int
	data  []float32
}

// runOn allocates specs on b, runs op and returns every tensor's contents.
func runOn(t *testing.T, b ops.Backend, specs []spec, op func(b ops.Backend, ts []ops.Tensor)) [][]float32 {
	t.Helper()
	ts := make([]ops.Tensor, len(specs))
	for i, s := range specs {
		x, err := ops.AllocAs(b, s.d, s.shape...)
		if err != nil {
			t.Fatalf("%s: AllocAs(%v, %v): %v", b.Name(), s.d, s.shape, err)
		}
		defer b.Free(x)
		ts[i] = x
		data := s.data
		if data == nil {
			data = make([]float32, x.Shape().Len())
			for j := range data {
				data[j] = float32(math.NaN())
			}
		}
		b.CopyIn(x, append([]float32(nil), data...))
	}
	op(b, ts)
	out := make([][]float32, len(ts))
	for i, x := range ts {
		out[i] = make([]float32, x.Shape().Len())
		if err := b.CopyOut(out[i], x); err != nil {
			t.Fatalf("%s: %v", b.Name(), err)
		}
	}
	return out
}

// compare runs op on g and on cpuref and checks every tensor within the
// tolerance of its type (inputs included: they must come back unchanged).
func compare(t *testing.T, g *Backend, specs []spec, atol, rtol float64, op func(b ops.Backend, ts []ops.Tensor)) {
	t.Helper()
	ref := cpuref.New(1)
	defer ref.Close()
	got, want := runOn(t, g, specs, op), runOn(t, ref, specs, op)
	for i, s := range specs {
		u := s.d.UnitRoundoff()
		bad := 0
		for j := range got[i] {
			w := float64(want[i][j])
			bound := atol + math.Ldexp(1, -24) + (rtol+2*u)*math.Abs(w)
			if d := math.Abs(float64(got[i][j]) - w); !(d <= bound) {
				if bad < 5 {
					t.Errorf("%s (%v) [%d]: got %g, cpuref %g, beyond %g", s.name, s.d, j, got[i][j], w, bound)
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s (%v): %d of %d elements beyond tolerance", s.name, s.d, bad, len(got[i]))
		}
	}
}

func uniform(r *rand.Rand, n int, lo, hi float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float32()
	}
	return v
}

func numel(shape ...int) int { return ops.Shape(shape).Len() }

const (
	libAtol = 1e-5 // opstest's float32 defaults
	libRtol = 1e-4
)

func TestHalfConv(t *testing.T) {
	g := openOrSkip(t, FP32)
	defer closeOK(t, g)
	r := rand.New(rand.NewPCG(22, 3))
	for _, d := range halfTypes {
		for _, geo := range []struct {
			x, w []int
			p    ops.ConvParams
		}{
			{[]int{2, 3, 6, 6}, []int{4, 3, 3, 3}, ops.Conv(1, 1)},
			{[]int{2, 4, 7, 7}, []int{6, 4, 3, 3}, ops.Conv(2, 1)},
			{[]int{3, 4, 5, 5}, []int{2, 4, 1, 1}, ops.Conv(1, 0)},
		} {
			y := []int(geo.p.OutputShape(geo.x, geo.w))
			x, w, dy := uniform(r, numel(geo.x...), -1, 1), uniform(r, numel(geo.w...), -1, 1), uniform(r, numel(y...), -1, 1)
			name := d.String() + ops.Shape(geo.x).String() + ops.Shape(geo.w).String()
			t.Run("forward "+name, func(t *testing.T) {
				compare(t, g, []spec{{"y", d, y, nil}, {"x", d, geo.x, x}, {"w", d, geo.w, w}}, libAtol, libRtol,
					func(b ops.Backend, ts []ops.Tensor) { b.ConvForward(ts[0], ts[1], ts[2], geo.p) })
			})
			for _, add := range []bool{false, true} {
				var dx0 []float32
				if add {
					dx0 = uniform(r, numel(geo.x...), -1, 1)
				}
				t.Run(fmt.Sprintf("backward data %s add %v", name, add), func(t *testing.T) {
					compare(t, g, []spec{{"dx", d, geo.x, dx0}, {"dy", d, y, dy}, {"w", d, geo.w, w}}, libAtol, libRtol,
						func(b ops.Backend, ts []ops.Tensor) { b.ConvBackwardData(ts[0], ts[1], ts[2], geo.p, add) })
				})
			}
			t.Run("backward filter "+name, func(t *testing.T) {
				compare(t, g, []spec{{"dw", d, geo.w, nil}, {"dy", d, y, dy}, {"x", d, geo.x, x}}, libAtol, libRtol,
					func(b ops.Backend, ts []ops.Tensor) { b.ConvBackwardFilter(ts[0], ts[1], ts[2], geo.p) })
			})
		}
	}
}

func TestHalfBatchNorm(t *testing.T) {
	g := openOrSkip(t, FP32)
	defer closeOK(t, g)
	r := rand.New(rand.NewPCG(22, 4))
	p := ops.DefaultBatchNorm
	xs := []int{4, 3, 5, 5}
	c := xs[1]
	f := ops.Float32
	for _, d := range halfTypes {
		x, dy := uniform(r, numel(xs...), -2, 3), uniform(r, numel(xs...), -1, 1)
		gamma, beta := uniform(r, c, 0.5, 1.5), uniform(r, c, -0.5, 0.5)
		rm, rv := uniform(r, c, -0.1, 0.1), uniform(r, c, 0.5, 1.5)
		t.Run("forward training "+d.String(), func(t *testing.T) {
			compare(t, g, []spec{{"y", d, xs, nil}, {"x", d, xs, x}, {"gamma", f, []int{c}, gamma}, {"beta", f, []int{c}, beta},
				{"runMean", f, []int{c}, rm}, {"runVar", f, []int{c}, rv}, {"saveMean", f, []int{c}, nil}, {"saveInvStd", f, []int{c}, nil}},
				libAtol, libRtol, func(b ops.Backend, ts []ops.Tensor) {
					b.BatchNormForwardTraining(ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6], ts[7], p)
				})
		})
		t.Run("forward inference "+d.String(), func(t *testing.T) {
			compare(t, g, []spec{{"y", d, xs, nil}, {"x", d, xs, x}, {"gamma", f, []int{c}, gamma}, {"beta", f, []int{c}, beta},
				{"runMean", f, []int{c}, rm}, {"runVar", f, []int{c}, rv}},
				libAtol, libRtol, func(b ops.Backend, ts []ops.Tensor) {
					b.BatchNormForwardInference(ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], p)
				})
		})
		for _, add := range []bool{false, true} {
			var dx0 []float32
			if add {
				dx0 = uniform(r, numel(xs...), -1, 1)
			}
			// The saved statistics come from a training pass on each backend.
			t.Run(fmt.Sprintf("backward %v add %v", d, add), func(t *testing.T) {
				compare(t, g, []spec{{"dx", d, xs, dx0}, {"dgamma", f, []int{c}, nil}, {"dbeta", f, []int{c}, nil}, {"dy", d, xs, dy},
					{"x", d, xs, x}, {"gamma", f, []int{c}, gamma}, {"beta", f, []int{c}, beta}, {"y", d, xs, nil},
					{"runMean", f, []int{c}, rm}, {"runVar", f, []int{c}, rv}, {"saveMean", f, []int{c}, nil}, {"saveInvStd", f, []int{c}, nil}},
					libAtol, libRtol, func(b ops.Backend, ts []ops.Tensor) {
						b.BatchNormForwardTraining(ts[7], ts[4], ts[5], ts[6], ts[8], ts[9], ts[10], ts[11], p)
						b.BatchNormBackward(ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[10], ts[11], p, add)
					})
			})
		}
	}
}

func TestHalfActivations(t *testing.T) {
	g := openOrSkip(t, FP32)
	defer closeOK(t, g)
	r := rand.New(rand.NewPCG(22, 5))
	n := 257
	x, dy, dx0 := uniform(r, n, -4, 4), uniform(r, n, -1, 1), uniform(r, n, -1, 1)
	relu := make([]float32, n) // ReLUBackward's y is a forward output
	for i, v := range x {
		relu[i] = max(v, 0)
	}
	f := ops.Float32
	for _, d := range halfTypes {
		// One type (cuDNN directly), then each mix (through float32).
		for _, ty := range [][2]ops.DType{{d, d}, {d, f}, {f, d}} {
			name := ty[0].String() + "→" + ty[1].String()
			t.Run("relu forward "+name, func(t *testing.T) {
				compare(t, g, []spec{{"y", ty[1], []int{n}, nil}, {"x", ty[0], []int{n}, x}}, libAtol, libRtol,
					func(b ops.Backend, ts []ops.Tensor) { b.ReLUForward(ts[0], ts[1]) })
			})
			t.Run("sigmoid forward "+name, func(t *testing.T) {
				compare(t, g, []spec{{"y", ty[1], []int{n}, nil}, {"x", ty[0], []int{n}, x}}, libAtol, libRtol,
					func(b ops.Backend, ts []ops.Tensor) { b.SigmoidForward(ts[0], ts[1]) })
			})
		}
		for _, ty := range [][3]ops.DType{{d, d, d}, {f, d, d}, {d, f, d}, {d, d, f}} {
			for _, add := range []bool{false, true} {
				var init []float32
				if add {
					init = dx0
				}
				t.Run(fmt.Sprintf("relu backward dx %v dy %v y %v add %v", ty[0], ty[1], ty[2], add), func(t *testing.T) {
					compare(t, g, []spec{{"dx", ty[0], []int{n}, init}, {"dy", ty[1], []int{n}, dy}, {"y", ty[2], []int{n}, relu}}, libAtol, libRtol,
						func(b ops.Backend, ts []ops.Tensor) { b.ReLUBackward(ts[0], ts[1], ts[2], add) })
				})
			}
		}
	}
}

func TestHalfLinear(t *testing.T) {
	g := openOrSkip(t, FP32)
	defer closeOK(t, g)
	r := rand.New(rand.NewPCG(22, 6))
	n, in, out := 5, 12, 7
	x, w, dy, dx0 := uniform(r, n*in, -1, 1), uniform(r, out*in, -1, 1), uniform(r, n*out, -1, 1), uniform(r, n*in, -1, 1)
	for _, d := range halfTypes {
		// The logits float32 (plan D1), or half: both rows of cublasGemmEx's table.
		for _, yt := range []ops.DType{ops.Float32, d} {
			t.Run("forward "+d.String()+"→"+yt.String(), func(t *testing.T) {
				compare(t, g, []spec{{"y", yt, []int{n, out}, nil}, {"x", d, []int{n, in}, x}, {"w", d, []int{out, in}, w}}, libAtol, libRtol,
					func(b ops.Backend, ts []ops.Tensor) { b.LinearForward(ts[0], ts[1], ts[2]) })
			})
		}
		for _, add := range []bool{false, true} {
			var init []float32
			if add {
				init = dx0
			}
			t.Run(fmt.Sprintf("backward data %v add %v", d, add), func(t *testing.T) {
				compare(t, g, []spec{{"dx", d, []int{n, in}, init}, {"dy", d, []int{n, out}, dy}, {"w", d, []int{out, in}, w}}, libAtol, libRtol,
					func(b ops.Backend, ts []ops.Tensor) { b.LinearBackwardData(ts[0], ts[1], ts[2], add) })
			})
		}
		t.Run("backward weight "+d.String(), func(t *testing.T) {
			compare(t, g, []spec{{"dw", d, []int{out, in}, nil}, {"dy", d, []int{n, out}, dy}, {"x", d, []int{n, in}, x}}, libAtol, libRtol,
				func(b ops.Backend, ts []ops.Tensor) { b.LinearBackwardWeight(ts[0], ts[1], ts[2]) })
		})
	}
}

// The mixes cuDNN and cuBLAS cannot do panic with an ops: message naming
// the types, before anything is queued.
func TestHalfMixesPanic(t *testing.T) {
	g := openOrSkip(t, FP32)
	defer closeOK(t, g)
	bf, f := ops.BFloat16, ops.Float32
	a := func(d ops.DType, shape ...int) ops.Tensor { return allocAs(t, g, d, shape...) }
	bn := ops.DefaultBatchNorm
	for _, c := range []struct {
		name, want string
		op         func()
	}{
		{"conv float32 w", "ops: ConvForward: storage types x bfloat16, w float32, y bfloat16", func() {
			g.ConvForward(a(bf, 1, 2, 3, 3), a(bf, 1, 2, 3, 3), a(f, 2, 2, 1, 1), ops.Conv(1, 0))
		}},
		{"conv float32 dx", "ops: ConvBackwardData: storage types x float32, w bfloat16, y bfloat16", func() {
			g.ConvBackwardData(a(f, 1, 2, 3, 3), a(bf, 1, 2, 3, 3), a(bf, 2, 2, 1, 1), ops.Conv(1, 0), false)
		}},
		{"conv float16 dw", "ops: ConvBackwardFilter: storage types x bfloat16, w float16, y bfloat16", func() {
			g.ConvBackwardFilter(a(ops.Float16, 2, 2, 1, 1), a(bf, 1, 2, 3, 3), a(bf, 1, 2, 3, 3), ops.Conv(1, 0))
		}},
		{"batch norm float32 y", "ops: BatchNormForwardTraining: activations of storage types bfloat16 and float32", func() {
			x := a(bf, 2, 2, 2, 2)
			g.BatchNormForwardTraining(a(f, 2, 2, 2, 2), x, a(f, 2), a(f, 2), a(f, 2), a(f, 2), a(f, 2), a(f, 2), bn)
		}},
		{"batch norm half gamma", "ops: BatchNormBackward: a per-channel tensor is bfloat16", func() {
			x := a(bf, 2, 2, 2, 2)
			g.BatchNormBackward(a(bf, 2, 2, 2, 2), a(f, 2), a(f, 2), a(bf, 2, 2, 2, 2), x, a(bf, 2), a(f, 2), a(f, 2), bn, false)
		}},
		{"linear float32 w", "ops: LinearForward: storage types w float32, x bfloat16, y float32", func() {
			g.LinearForward(a(f, 2, 3), a(bf, 2, 4), a(f, 3, 4))
		}},
		{"linear float16 output of float32", "ops: LinearBackwardWeight: storage types x float32, dy float32, dw float16", func() {
			g.LinearBackwardWeight(a(ops.Float16, 3, 4), a(f, 2, 3), a(f, 2, 4))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, c.want) {
					t.Errorf("panic %q, want one starting %q", msg, c.want)
				}
			}()
			c.op()
		})
	}
	if err := g.Sync(); err != nil {
		t.Errorf("Sync after the refused calls: %v", err)
	}
}
