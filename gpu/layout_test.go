package gpu

import (
	"fmt"
	"slices"
	"testing"

	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opstest"
)

// The conformance suite's NHWC passes, as cpuref runs them: the GPU
// backend stores NHWC (ops.LayoutSupporter), and its ops on NHWC tensors
// (alone, mixed with NCHW, and in each half type) are held to cpuref.
func TestConformanceNHWC(t *testing.T) {
	for _, o := range []opstest.Options{
		{Layout: ops.NHWC},
		{Layout: ops.NHWC, MixLayouts: true},
		{Layout: ops.NHWC, DType: ops.BFloat16},
		{Layout: ops.NHWC, DType: ops.Float16},
		{Layout: ops.NHWC, DType: ops.BFloat16, MixLayouts: true},
	} {
		t.Run(fmt.Sprintf("%v_mixed%t", o.DType, o.MixLayouts), func(t *testing.T) {
			b := openOrSkip(t, FP32)
			defer closeOK(t, b)
			if !ops.SupportsLayout(b, ops.NHWC) {
				t.Fatal("the GPU backend does not say it stores NHWC")
			}
			opstest.Run(t, b, o)
		})
	}
}

// TestConversionScratchSurvivesCapture: an op that converts inside a
// captured step writes, at every replay, into scratch that no later
// allocation is given, and allocates nothing during the capture: a tensor
// allocated after the capture, of the converted tensor's size, keeps its
// values through a replay, and the replay computes what the eager call
// did. The conversions: a mix of layouts (a float32 conv's NCHW weight
// with NHWC activations, as a float32 NHWC network runs), a mix of types
// (ReLU from bfloat16 into float32, through float32 scratch) and batch
// norm in place (its output through scratch: aliasOut).
func TestConversionScratchSurvivesCapture(t *testing.T) {
	bnp := ops.DefaultBatchNorm
	for _, tc := range []struct {
		name string
		op   func(b *Backend, alloc func(ops.DType, ops.Layout, ...int) ops.Tensor) (run func(), out ops.Tensor, size ops.Shape)
	}{
		{"layouts", func(b *Backend, alloc func(ops.DType, ops.Layout, ...int) ops.Tensor) (func(), ops.Tensor, ops.Shape) {
			x, w, y := alloc(ops.Float32, ops.NHWC, 2, 4, 6, 6), alloc(ops.Float32, ops.NCHW, 4, 4, 3, 3), alloc(ops.Float32, ops.NHWC, 2, 4, 6, 6)
			return func() { b.ConvForward(y, x, w, ops.Conv(1, 1)) }, y, ops.Shape{4, 4, 3, 3}
		}},
		{"types", func(b *Backend, alloc func(ops.DType, ops.Layout, ...int) ops.Tensor) (func(), ops.Tensor, ops.Shape) {
			x, y := alloc(ops.BFloat16, ops.NCHW, 2, 4, 6, 6), alloc(ops.Float32, ops.NCHW, 2, 4, 6, 6)
			return func() { b.ReLUForward(y, x) }, y, ops.Shape{2, 4, 6, 6}
		}},
		{"bn_in_place", func(b *Backend, alloc func(ops.DType, ops.Layout, ...int) ops.Tensor) (func(), ops.Tensor, ops.Shape) {
			x := alloc(ops.Float32, ops.NCHW, 2, 4, 6, 6)
			c := func() ops.Tensor { return alloc(ops.Float32, ops.NCHW, 4) }
			g, be, rm, rv, sm, si := c(), c(), c(), c(), c(), c()
			b.Fill(g, 1)
			b.Fill(rv, 1)
			// In place from a fixed input each time: copy, then normalise.
			x0 := alloc(ops.Float32, ops.NCHW, 2, 4, 6, 6)
			return func() {
				b.Copy(x, x0)
				b.BatchNormForwardTraining(x, x, g, be, rm, rv, sm, si, bnp)
			}, x, ops.Shape{2, 4, 6, 6}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := openOrSkip(t, FP32)
			defer closeOK(t, b)
			var ts []ops.Tensor
			alloc := func(d ops.DType, l ops.Layout, shape ...int) ops.Tensor {
				x, err := ops.AllocLayout(b, d, l, shape...)
				if err != nil {
					t.Fatal(err)
				}
				v := make([]float32, x.Shape().Len())
				for i := range v {
					v[i] = float32(i%7) - 3
				}
				b.CopyIn(x, v)
				ts = append(ts, x)
				return x
			}
			defer func() {
				for _, x := range ts {
					b.Free(x)
				}
			}()
			get := func(x ops.Tensor) []float32 {
				v := make([]float32, x.Shape().Len())
				if err := b.CopyOut(v, x); err != nil {
					t.Fatal(err)
				}
				return v
			}
			run, out, size := tc.op(b, alloc)
			run() // eager: the scratch is made here
			want := get(out)
			if err := b.BeginCapture(); err != nil {
				t.Skipf("no capture: %v", err)
			}
			run()
			g, err := b.EndCapture()
			if err != nil {
				t.Fatalf("capturing it: %v", err)
			}
			defer g.Close()
			later := alloc(ops.Float32, ops.NCHW, size...)
			kept := make([]float32, size.Len())
			for i := range kept {
				kept[i] = 1000 + float32(i) // nothing an op here computes
			}
			b.CopyIn(later, kept)
			b.Fill(out, 0)
			g.Launch()
			if got := get(later); !slices.Equal(got, kept) {
				t.Errorf("a replay changed a tensor allocated after the capture: %v…, want %v…", got[:4], kept[:4])
			}
			if got := get(out); !slices.Equal(got, want) {
				t.Errorf("the replay computed %v…, the eager call %v…", got[:4], want[:4])
			}
		})
	}
}

// TestCopyFlatAndNHWC: Copy moves logical order between an NHWC tensor and
// a flat (rank-1, row-major) one of equal length, and between shapes of
// equal length in two layouts, casting at once (dr_copy_laid gives each
// tensor its own geometry), as the ops contract's Copy requires.
func TestCopyFlatAndNHWC(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	const n, c, h, w = 2, 3, 4, 5
	alloc := func(d ops.DType, l ops.Layout, shape ...int) ops.Tensor {
		x, err := ops.AllocLayout(b, d, l, shape...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Free(x) })
		return x
	}
	logical := make([]float32, n*c*h*w)
	for i := range logical {
		logical[i] = float32(i) // exact in bfloat16 below 256
	}
	flat := alloc(ops.Float32, ops.NCHW, len(logical))
	b.CopyIn(flat, logical)
	x := alloc(ops.BFloat16, ops.NHWC, n, c, h, w)
	b.Copy(x, flat)
	other := alloc(ops.Float32, ops.NHWC, n, h, c, w) // same length, other geometry
	b.Copy(other, x)
	back := alloc(ops.Float32, ops.NCHW, len(logical))
	b.Copy(back, other)
	for _, tc := range []struct {
		name string
		t    ops.Tensor
	}{{"flat → nhwc bf16", x}, {"nhwc bf16 → nhwc of another shape", other}, {"→ flat", back}} {
		got := make([]float32, len(logical))
		if err := b.CopyOut(got, tc.t); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, logical) {
			t.Errorf("%s: logical order %v…, want %v…", tc.name, got[:8], logical[:8])
		}
	}
}
