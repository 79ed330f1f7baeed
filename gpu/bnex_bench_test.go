package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/cudnn"
	"github.com/deepres/deepres/ops"
)

// BenchmarkBNAddReLU times one fused batch norm + shortcut addition + ReLU,
// forward and backward, in float16 NHWC (what a unit's end runs with
// --precision fp16 --fuse): deepres's own kernels (kernels/reduce_bn.cu),
// and cuDNN's cudnnBatchNormalizationForwardTrainingEx/BackwardEx
// (CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION, persistent mode), which the
// backend does not use (batchnorm_relu.go says why). It is the measurement
// that would decide otherwise; no card has run it. Before timing, both
// compute the same inputs and must agree within float16's rounding, so the
// timed loops are of two correct implementations. On a card:
//
//	gpu.test -test.run '^$' -test.bench BNAddReLU -test.benchtime 200x
//
// The n8 shape is small enough for the simulator (check.sh --sim runs it
// once, as a check of the harness); the others are resnet's stages 1 and 3
// at batch 128.
func BenchmarkBNAddReLU(bm *testing.B) {
	for _, s := range [][4]int{{8, 16, 32, 32}, {128, 16, 32, 32}, {128, 64, 8, 8}} {
		bm.Run(fmt.Sprintf("n%d_c%d_%dx%d", s[0], s[1], s[2], s[3]), func(bm *testing.B) {
			b := openOrSkip(bm, TF32)
			bm.Cleanup(func() { closeOK(bm, b) }) // after the tensors' cleanups, registered later
			f := newFusedBN(bm, b, s)
			f.agree(bm)
			for _, impl := range []string{"deepres", "cudnn-ex"} {
				bm.Run(impl, func(bm *testing.B) {
					step := f.deepres
					if impl == "cudnn-ex" {
						step = f.cudnnEx
					}
					step()
					if err := b.Sync(); err != nil {
						bm.Fatal(err)
					}
					bm.SetBytes(f.bytes)
					bm.ResetTimer()
					for i := 0; i < bm.N; i++ {
						step()
					}
					if err := b.Sync(); err != nil {
						bm.Fatal(err)
					}
				})
			}
		})
	}
}

// fusedBN holds one fused batch norm's tensors, float16 NHWC activations
// and float32 parameters, and cuDNN's workspace and reserve space.
type fusedBN struct {
	b                             *Backend
	x, z, y, dy, dx, dz           *tensor
	g, be, rm, rv, sm, si, dg, db *tensor
	buf                           cudnn.BatchNormExBuffers
	p                             ops.BatchNormParams
	bytes                         int64 // the tensors one forward and backward read and write once
	exErr                         error // why cuDNN's Ex path cannot run, if it cannot
}

func newFusedBN(tb testing.TB, b *Backend, s [4]int) *fusedBN {
	f := &fusedBN{b: b, p: ops.DefaultBatchNorm}
	r := rand.New(rand.NewPCG(1, 2))
	act := func() *tensor {
		t, err := ops.AllocLayout(b, ops.Float16, ops.NHWC, s[:]...)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { b.Free(t) })
		v := make([]float32, t.Shape().Len())
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		b.CopyIn(t, v)
		return t.(*tensor)
	}
	par := func(v float32) *tensor {
		t, err := b.Alloc(s[1])
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { b.Free(t) })
		b.Fill(t, v)
		return t.(*tensor)
	}
	f.x, f.z, f.y, f.dy, f.dx, f.dz = act(), act(), act(), act(), act(), act()
	f.g, f.be, f.rm, f.rv, f.sm, f.si, f.dg, f.db = par(1.5), par(0.25), par(0), par(1), par(0), par(0), par(0), par(0)
	f.bytes = 9 * f.x.bytes() // forward reads x, z, writes y; backward reads dy, y, x, writes dx, dz; stats read x again
	sizes, err := b.dnn.BatchNormExSizes(shape4(f.x), cudnn.BNAddReLU)
	if err != nil {
		f.exErr = err
		return f
	}
	get := func(n int) cudnn.Ptr {
		if n == 0 {
			return 0
		}
		p, err := b.mem.get(int64(n))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { b.mem.put(p) })
		return cudnn.Ptr(p)
	}
	ws := max(sizes.ForwardWorkspace, sizes.BackwardWorkspace)
	f.buf = cudnn.BatchNormExBuffers{Workspace: get(ws), WorkspaceSize: ws, Reserve: get(sizes.Reserve), ReserveSize: sizes.Reserve}
	return f
}

// deepres runs the backend's fused op forward and backward.
func (f *fusedBN) deepres() {
	f.b.BatchNormAddReLUForwardTraining(f.y, f.x, f.z, f.g, f.be, f.rm, f.rv, f.sm, f.si, f.p)
	f.b.BatchNormAddReLUBackward(f.dx, f.dz, f.dg, f.db, f.dy, f.y, f.x, f.g, f.sm, f.si, f.p, false)
}

// cudnnEx runs cuDNN's fused calls on the same tensors.
func (f *fusedBN) cudnnEx() {
	sh := shape4(f.x)
	f.b.run(func() error {
		if err := f.b.dnn.BatchNormForwardTrainingEx(cudnn.BNAddReLU, cudnn.Ptr(f.y.ptr), cudnn.Ptr(f.x.ptr), cudnn.Ptr(f.z.ptr), sh,
			cudnn.Ptr(f.g.ptr), cudnn.Ptr(f.be.ptr), cudnn.Ptr(f.rm.ptr), cudnn.Ptr(f.rv.ptr), cudnn.Ptr(f.sm.ptr), cudnn.Ptr(f.si.ptr),
			f.p.Momentum, f.p.Eps, f.buf); err != nil {
			return err
		}
		return f.b.dnn.BatchNormBackwardEx(cudnn.BNAddReLU, cudnn.Ptr(f.dx.ptr), cudnn.Ptr(f.dz.ptr), cudnn.Ptr(f.dg.ptr), cudnn.Ptr(f.db.ptr),
			cudnn.Ptr(f.dy.ptr), cudnn.Ptr(f.x.ptr), cudnn.Ptr(f.y.ptr), sh, cudnn.Ptr(f.g.ptr), cudnn.Ptr(f.be.ptr),
			cudnn.Ptr(f.sm.ptr), cudnn.Ptr(f.si.ptr), f.p.Eps, f.buf)
	})
}

// agree runs both on the same inputs and fails unless their outputs agree
// within float16's rounding: |a−b| <= 8u·(1+|b|) for the half outputs and
// 1e-3·(1+|b|) for the per-channel sums. Without cuDNN's Ex path it skips
// the comparison, saying why (the cudnn-ex benchmark then fails).
func (f *fusedBN) agree(tb testing.TB) {
	if f.exErr != nil {
		if errors.Is(f.exErr, cudnn.ErrNotSupported) {
			tb.Logf("cuDNN refuses the fused Ex path here: %v", f.exErr)
			return
		}
		tb.Fatal(f.exErr)
	}
	outs := []*tensor{f.y, f.dx, f.dz, f.dg, f.db}
	run := func(step func()) [][]float32 {
		f.b.Fill(f.rm, 0)
		f.b.Fill(f.rv, 1)
		step()
		res := make([][]float32, len(outs))
		for i, t := range outs {
			res[i] = make([]float32, t.len())
			if err := f.b.CopyOut(res[i], t); err != nil {
				tb.Fatal(err)
			}
		}
		return res
	}
	a, c := run(f.deepres), run(f.cudnnEx)
	u := ops.Float16.UnitRoundoff()
	for i, name := range []string{"y", "dx", "dz", "dgamma", "dbeta"} {
		tol := 8 * u
		if i >= 3 {
			tol = 1e-3
		}
		for j := range a[i] {
			if d := math.Abs(float64(a[i][j] - c[i][j])); !(d <= tol*(1+math.Abs(float64(c[i][j])))) {
				tb.Fatalf("%s[%d]: deepres %g, cuDNN Ex %g: the two disagree beyond %.3g·(1+|cuDNN|)", name, j, a[i][j], c[i][j], tol)
			}
		}
	}
}
