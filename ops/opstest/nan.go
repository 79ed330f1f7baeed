package opstest

import (
	"math"
	"testing"

	"github.com/deepres/deepres/ops"
)

// nanCase feeds an op a NaN where NVIDIA documents that it propagates, and
// names the output elements that must then be NaN (every other element of
// those outputs must be finite). Both the backend and cpuref must produce
// exactly that pattern, and agree on the finite elements: a backend that
// swallows a NaN (ReLU with CUDNN_NOT_PROPAGATE_NAN) would hide a diverged
// run from the training loop's non-finite check and part from cpuref.
type nanCase struct {
	name string
	args []arg
	op   func(b ops.Backend, ts []ops.Tensor)
	// nanAt: for each output checked, the indices that must be NaN.
	nanAt map[string][]int
}

// nanPoison fills outputs before a NaN case: a finite value, so that a NaN
// found afterwards was written by the op, not left from the poison.
const nanPoison = -7777

// The NaN cases, one per op whose propagation NVIDIA documents:
//   - ReLU forward and backward: cudnnSetActivationDescriptor with
//     CUDNN_PROPAGATE_NAN ("NaN numbers are propagated", cuDNN API,
//     cudnnNanPropagation_t), which deepres sets;
//   - batch norm: a NaN in a channel makes that channel's statistics NaN,
//     hence its every output, and leaves the other channels alone
//     (cudnnBatchNormalizationForwardTraining computes per-channel means);
//   - the fused batch norm + addition + ReLU: batch norm's rule, then
//     IEEE addition and ReLU's propagation (a NaN in z stays in its element);
//   - global average pooling, the loss, the SGD update: IEEE arithmetic
//     in deepres's own kernels (sums and products propagate NaN);
//   - cuBLAS GEMM: IEEE arithmetic ("cublas<t>gemm": C = αop(A)op(B) + βC),
//     so a NaN in a row of x reaches that row of y only.
func (s *suite) testNaN(t *testing.T) {
	nan := math.NaN()
	bnShape := ops.Shape{2, 2, 1, 2}
	// x (2,2,1,2): channel 0 holds a NaN (sample 1), channel 1 does not.
	bnX := f32s(1, nan, 3, 4, 2, 0.5, -1, 6)
	ch0 := []int{0, 1, 4, 5} // elements of channel 0 in NCHW (2,2,1,2)
	bnXFinite := f32s(1, 2, 3, 4, 2, 0.5, -1, 6)
	bnMean, bnInvStd := bnStats(bnShape, bnXFinite)
	cases := []nanCase{
		{
			name:  "ReLUForward",
			args:  []arg{input("x", f32s(1, nan, -1, nan, 0), 5), output("y", 5)},
			op:    reluFwd,
			nanAt: map[string][]int{"y": {1, 3}},
		},
		{
			name:  "ReLUBackward",
			args:  []arg{input("dy", f32s(nan, 1, 2, nan), 4), input("y", f32s(1, 0, 3, 2), 4), output("dx", 4)},
			op:    reluBwd(false),
			nanAt: map[string][]int{"dx": {0, 3}},
		},
		{
			name: "BatchNormForwardTraining",
			args: bnFwdArgs(bnShape, bnX, f32s(1, 2), f32s(0, 1), f32s(0, 0), f32s(1, 1)),
			op:   bnFwd,
			nanAt: map[string][]int{"y": ch0, "saveMean": {0}, "saveInvStd": {0},
				"runMean": {0}, "runVar": {0}},
		},
		{
			name: "BatchNormForwardInference",
			args: []arg{input("x", bnX, bnShape...), input("gamma", f32s(1, 2), 2), input("beta", f32s(0, 1), 2),
				input("runMean", f32s(0.5, -0.5), 2), input("runVar", f32s(2, 3), 2), output("y", bnShape...)},
			op: func(b ops.Backend, ts []ops.Tensor) {
				b.BatchNormForwardInference(ts[5], ts[0], ts[1], ts[2], ts[3], ts[4], bnP)
			},
			nanAt: map[string][]int{"y": {1}},
		},
		{
			name:  "BatchNormBackward",
			args:  bnBwdArgs(bnShape, f32s(nan, 1, 2, 3, -1, 0.5, 2, 1), bnXFinite, f32s(1, 2), bnMean, bnInvStd),
			op:    bnBwd(false),
			nanAt: map[string][]int{"dx": ch0, "dgamma": {0}, "dbeta": {0}},
		},
		{
			// The fused op: a NaN in x poisons its channel's statistics and
			// so the channel (ReLU propagates NaN); one in z only its element.
			name: "BatchNormAddReLUForwardTraining",
			args: bnarFwdArgs(bnShape, bnX, f32s(0, 1, nan, 2, -9, 0, 1, 0), f32s(1, 2), f32s(0, 1), f32s(0, 0), f32s(1, 1)),
			op:   bnarFwd(true),
			nanAt: map[string][]int{"y": {0, 1, 4, 5, 2}, "saveMean": {0}, "saveInvStd": {0},
				"runMean": {0}, "runVar": {0}},
		},
		{
			// dy's NaN at element 0 (y > 0) reaches channel 0's sums, all of
			// its dx and dz[0]; the NaN at element 3 meets y = 0 and is
			// masked, as ReLUBackward masks it.
			name: "BatchNormAddReLUBackward",
			args: bnarBwdArgs(bnShape, f32s(nan, 1, 2, nan, -1, 0.5, 2, 1), f32s(1, 2, 0.5, 0, 0, 1, 3, 2),
				bnXFinite, f32s(1, 2), bnMean, bnInvStd, true),
			op:    bnarBwd(true, false),
			nanAt: map[string][]int{"dx": ch0, "dz": {0}, "dgamma": {0}, "dbeta": {0}},
		},
		{
			name:  "GlobalAvgPoolForward",
			args:  []arg{input("x", f32s(1, nan, 3, 4, 5, 6, 7, 8), 2, 2, 1, 2), output("y", 2, 2)},
			op:    func(b ops.Backend, ts []ops.Tensor) { b.GlobalAvgPoolForward(ts[1], ts[0]) },
			nanAt: map[string][]int{"y": {0}},
		},
		{
			name: "SoftmaxCrossEntropy",
			args: []arg{output("dlogits", 2, 3), output("losses", 2), output("correct", 2),
				input("logits", f32s(1, nan, 2, 0.5, -1, 3), 2, 3), input("labels", f32s(0, 2), 2)},
			op: func(b ops.Backend, ts []ops.Tensor) { b.SoftmaxCrossEntropy(ts[0], ts[1], ts[2], ts[3], ts[4]) },
			// correct[0] (the arg-max of a row holding a NaN) is not
			// pinned by the contract: not checked.
			nanAt: map[string][]int{"dlogits": {0, 1, 2}, "losses": {0}},
		},
		{
			name: "LinearForward",
			args: []arg{output("y", 2, 3), input("x", f32s(1, 2, nan, 4), 2, 2),
				input("w", f32s(1, 0, 0.5, -1, 2, 1), 3, 2)},
			op:    func(b ops.Backend, ts []ops.Tensor) { b.LinearForward(ts[0], ts[1], ts[2]) },
			nanAt: map[string][]int{"y": {3, 4, 5}},
		},
		{
			name: "SGDUpdate",
			args: []arg{update("w", f32s(1, 2, 3), 3), input("dw", f32s(0.5, nan, -1), 3), update("v", f32s(0, 0.1, 0.2), 3)},
			op: func(b ops.Backend, ts []ops.Tensor) {
				b.SGDUpdate(ts[0], ts[1], ts[2], ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4})
			},
			nanAt: map[string][]int{"w": {1}, "v": {1}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := execNaN(t, s.b, c.args, c.op)
			want := execNaN(t, s.ref, c.args, c.op)
			for i, a := range c.args {
				at, ok := c.nanAt[a.name]
				if !ok {
					continue
				}
				requireNaNAt(t, a.name+" ("+s.b.Name()+")", got[i], at)
				requireNaNAt(t, a.name+" (cpuref)", want[i], at)
				requireClose(t, a.name+" (finite elements)", zeroNaN(got[i]), zeroNaN(want[i]), s.o.Atol, s.o.Rtol)
			}
		})
	}
}

// execNaN runs op on b as exec does, but poisons outputs with a finite value
// and lets them hold NaN afterwards.
func execNaN(t *testing.T, b ops.Backend, args []arg, op func(b ops.Backend, ts []ops.Tensor)) [][]float32 {
	t.Helper()
	ts := make([]ops.Tensor, len(args))
	for i, a := range args {
		data := a.data
		if a.role == out {
			data = filled(a.shape.Len(), nanPoison)
		}
		ts[i] = tensor(t, b, data, a.shape...)
	}
	op(b, ts)
	if err := b.Sync(); err != nil {
		t.Fatalf("Sync after the op: %v", err)
	}
	res := make([][]float32, len(args))
	for i := range args {
		res[i] = read(t, b, ts[i])
	}
	return res
}

// requireNaNAt fails t unless x is NaN exactly at the indices at.
func requireNaNAt(t *testing.T, name string, x []float32, at []int) {
	t.Helper()
	want := make([]bool, len(x))
	for _, i := range at {
		want[i] = true
	}
	for i, v := range x {
		if isNaN := v != v; isNaN != want[i] {
			t.Errorf("%s: element %d = %v, want NaN %v (NaN at %v only)", name, i, v, want[i], at)
		}
	}
}

// zeroNaN returns x with its NaNs replaced by 0, for comparing the rest.
func zeroNaN(x []float32) []float32 {
	y := clone(x)
	for i, v := range y {
		if v != v {
			y[i] = 0
		}
	}
	return y
}
