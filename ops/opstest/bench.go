package opstest

import (
	"fmt"
	"testing"

	"github.com/deepres/deepres/ops"
)

// benchConvShapes are the 3x3, stride 1, pad 1 convolutions of the three
// stages of a CIFAR ResNet at batch 128 (He et al. 2016): each costs the same
// 0.60 GFLOP, so GFLOP/s compare directly across stages.
var benchConvShapes = []struct{ n, c, h int }{{128, 16, 32}, {128, 32, 16}, {128, 64, 8}}

// Benchmarks runs the hot ops on a backend from newBackend (one per
// sub-benchmark, closed at its end), with stable names for benchstat:
// ConvForward, ConvBackwardData and ConvBackwardFilter at n128_c16_h32,
// n128_c32_h16 and n128_c64_h8; BatchNormForwardTraining/n128_c16_h32;
// SGDUpdate/n1700000 (about resnet-110's parameter count). Each iteration
// ends with Sync, so asynchronous devices are timed for the work itself.
// Conv benchmarks report GFLOP/s (2 FLOPs per multiply-add) and img/s;
// BatchNorm reports img/s and GB/s; SGDUpdate reports GB/s.
func Benchmarks(b *testing.B, newBackend func() ops.Backend) {
	convOps := []struct {
		name string
		op   func(be ops.Backend, y, x, w ops.Tensor, p ops.ConvParams)
	}{
		{"ConvForward", func(be ops.Backend, y, x, w ops.Tensor, p ops.ConvParams) { be.ConvForward(y, x, w, p) }},
		{"ConvBackwardData", func(be ops.Backend, y, x, w ops.Tensor, p ops.ConvParams) { be.ConvBackwardData(x, y, w, p, false) }},
		{"ConvBackwardFilter", func(be ops.Backend, y, x, w ops.Tensor, p ops.ConvParams) { be.ConvBackwardFilter(w, y, x, p) }},
	}
	for _, c := range convOps {
		b.Run(c.name, func(b *testing.B) {
			for _, sh := range benchConvShapes {
				b.Run(fmt.Sprintf("n%d_c%d_h%d", sh.n, sh.c, sh.h), func(b *testing.B) {
					x := ops.Shape{sh.n, sh.c, sh.h, sh.h}
					w := ops.Shape{sh.c, sh.c, 3, 3}
					flops := 2 * float64(x.Len()) * float64(sh.c*9) // y has x's shape
					bench(b, newBackend, []ops.Shape{x, x, w}, func(be ops.Backend, ts []ops.Tensor) {
						c.op(be, ts[0], ts[1], ts[2], ops.Conv(1, 1))
					}, metrics{flops: flops, images: sh.n})
				})
			}
		})
	}
	b.Run("BatchNormForwardTraining", func(b *testing.B) {
		b.Run("n128_c16_h32", func(b *testing.B) {
			x := ops.Shape{128, 16, 32, 32}
			c := ops.Shape{16}
			// Traffic counted: x read twice (statistics, then normalising), y written once.
			bench(b, newBackend, []ops.Shape{x, x, c, c, c, c, c, c}, func(be ops.Backend, ts []ops.Tensor) {
				be.BatchNormForwardTraining(ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6], ts[7], ops.DefaultBatchNorm)
			}, metrics{bytes: 3 * 4 * float64(x.Len()), images: 128})
		})
	})
	b.Run("SGDUpdate", func(b *testing.B) {
		const n = 1700000
		b.Run(fmt.Sprintf("n%d", n), func(b *testing.B) {
			p := ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true}
			// Traffic counted: w, dw, v read; w, v written.
			bench(b, newBackend, []ops.Shape{{n}, {n}, {n}}, func(be ops.Backend, ts []ops.Tensor) {
				be.SGDUpdate(ts[0], ts[1], ts[2], p)
			}, metrics{bytes: 5 * 4 * n})
		})
	})
}

// metrics is the work of one iteration; zero fields are not reported.
type metrics struct {
	flops, bytes float64
	images       int
}

// bench allocates tensors of the given shapes holding values in [−1, 1),
// runs op once to warm up (workspaces, algorithm choice), then times it.
func bench(b *testing.B, newBackend func() ops.Backend, shapes []ops.Shape, op func(be ops.Backend, ts []ops.Tensor), m metrics) {
	be := newBackend()
	defer be.Close()
	rng := newRand()
	ts := make([]ops.Tensor, len(shapes))
	for i, sh := range shapes {
		t, err := be.Alloc(sh...)
		if err != nil {
			b.Fatalf("Alloc%v: %v", sh, err)
		}
		defer be.Free(t)
		be.CopyIn(t, uniform(rng, sh.Len(), -1, 1))
		ts[i] = t
	}
	op(be, ts)
	if err := be.Sync(); err != nil {
		b.Fatalf("warm-up: %v", err)
	}
	iters := 0
	for b.Loop() {
		op(be, ts)
		if err := be.Sync(); err != nil {
			b.Fatal(err)
		}
		iters++
	}
	sec := b.Elapsed().Seconds()
	if sec <= 0 || iters == 0 {
		return
	}
	if m.flops > 0 {
		b.ReportMetric(m.flops*float64(iters)/sec/1e9, "GFLOP/s")
	}
	if m.bytes > 0 {
		b.ReportMetric(m.bytes*float64(iters)/sec/1e9, "GB/s")
	}
	if m.images > 0 {
		b.ReportMetric(float64(m.images*iters)/sec, "img/s")
	}
}
