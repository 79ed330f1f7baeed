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

// TestConversionScratchSurvivesCapture: an op that converts a mix of
// layouts inside a captured step (a float32 conv's NCHW weight with NHWC
// activations, as a float32 NHWC network runs) writes, at every replay,
// into scratch that no later allocation is given, and allocates nothing
// during the capture: a tensor allocated after the capture, of the
// weight's size, keeps its values through a replay, and the replay
// computes what the eager call did.
func TestConversionScratchSurvivesCapture(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	alloc := func(l ops.Layout, shape ...int) ops.Tensor {
		x, err := ops.AllocLayout(b, ops.Float32, l, shape...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Free(x) })
		return x
	}
	fill := func(x ops.Tensor, f func(i int) float32) []float32 {
		v := make([]float32, x.Shape().Len())
		for i := range v {
			v[i] = f(i)
		}
		b.CopyIn(x, v)
		return v
	}
	get := func(x ops.Tensor) []float32 {
		v := make([]float32, x.Shape().Len())
		if err := b.CopyOut(v, x); err != nil {
			t.Fatal(err)
		}
		return v
	}
	x, w, y := alloc(ops.NHWC, 2, 4, 6, 6), alloc(ops.NCHW, 4, 4, 3, 3), alloc(ops.NHWC, 2, 4, 6, 6)
	fill(x, func(i int) float32 { return float32(i%7) - 3 })
	fill(w, func(i int) float32 { return float32(i%5) - 2 })
	p := ops.Conv(1, 1)
	b.ConvForward(y, x, w, p) // eager: the scratch is made here
	want := get(y)
	if err := b.BeginCapture(); err != nil {
		t.Skipf("no capture: %v", err)
	}
	b.ConvForward(y, x, w, p)
	g, err := b.EndCapture()
	if err != nil {
		t.Fatalf("capturing a conv of a layout mix: %v", err)
	}
	defer g.Close()
	later := alloc(ops.NCHW, 4, 4, 3, 3)
	kept := fill(later, func(i int) float32 { return 1000 + float32(i) })
	b.Fill(y, 0)
	g.Launch()
	if got := get(later); !slices.Equal(got, kept) {
		t.Errorf("a replay changed a tensor allocated after the capture: %v…, want %v…", got[:4], kept[:4])
	}
	if got := get(y); !slices.Equal(got, want) {
		t.Errorf("the replay computed %v…, the eager call %v…", got[:4], want[:4])
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
