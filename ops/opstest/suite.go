package opstest

import (
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
)

// Options sets the suite's tolerances. Zero values mean defaults fit for
// float32 arithmetic compared with cpuref; a GPU computing convolutions in
// TF32 passes looser ones.
type Options struct {
	// Atol and Rtol bound |got−want| <= Atol + Rtol·|want|; defaults 1e-5, 1e-4.
	Atol, Rtol float64
	// Short runs fewer random shapes, as testing.Short does.
	Short bool
	// DType is the storage type of the activations in the cases (see
	// precision.go): Float32 (the zero value) is the full suite; a half
	// type runs each op's cases with half activations against the float32
	// reference, with Atol and Rtol widened by the type's unit roundoff.
	// A backend that cannot store it (ops.Supports) is skipped, saying so.
	// A half pass runs the op groups only (not Memory, View, NaN, Misuse);
	// within them, the cases that go through runCases and checkAdd (hand,
	// random, add) are typed, and the checks that build their tensors
	// themselves (finite differences, aliasing) stay float32.
	DType ops.DType
	// Layout is the storage layout of the 4-D tensors in the cases (see
	// layout.go): NCHW (the zero value), or NHWC, checked against the NCHW
	// reference. A backend that cannot store it (ops.SupportsLayout) is
	// skipped, saying so. Like a half pass, an NHWC pass runs the op
	// groups only, plus Layout (copies and views of NHWC tensors); it
	// combines with DType. MixLayouts alternates the layout with NCHW
	// among each case's 4-D tensors.
	Layout     ops.Layout
	MixLayouts bool
}

const (
	defaultAtol = 1e-5
	defaultRtol = 1e-4
)

// suite holds the backend under test, the reference it is compared with and
// the options, for the tests of every op.
type suite struct {
	b, ref ops.Backend
	o      Options
}

// Run runs the conformance suite on b, one subtest per op (ConvForward,
// BatchNormBackward, …) with hand-computed cases ("hand"), central finite
// differences of the backward ops ("fd"), random cases compared with cpuref
// ("random"), the add flag ("add"), aliasing where allowed ("alias") and
// misuse panics ("misuse"). Every op's outputs are poisoned with NaN before
// it runs and must be fully written; its inputs must not change. Misuse must
// panic with a message starting with "ops:" or b's package name and a colon
// (or, for a wrapper with an Unwrap() ops.Backend method, the wrapped
// backend's). Run does not close b.
func Run(t *testing.T, b ops.Backend, o Options) {
	if o.Atol == 0 {
		o.Atol = defaultAtol
	}
	if o.Rtol == 0 {
		o.Rtol = defaultRtol
	}
	o.Short = o.Short || testing.Short()
	if o.DType != ops.Float32 {
		if !ops.Supports(b, o.DType) {
			t.Skipf("%s cannot store %v (ops.Supports): no %v pass", b.Name(), o.DType, o.DType)
		}
		o.Atol, o.Rtol = halfTolerance(o.DType, o.Atol, o.Rtol)
	}
	if o.Layout != ops.NCHW && !ops.SupportsLayout(b, o.Layout) {
		t.Skipf("%s cannot store %v tensors (ops.SupportsLayout): no %v pass", b.Name(), o.Layout, o.Layout)
	}
	// One thread: when b is itself cpuref, the comparison still checks that
	// the way it splits work over threads does not change the results.
	ref := cpuref.New(1)
	defer ref.Close()
	s := &suite{b: b, ref: ref, o: o}
	if b.Name() == "" {
		t.Error("Name is empty")
	}
	for _, g := range []struct {
		name string
		f    func(t *testing.T)
	}{
		{"Memory", s.testMemory},
		{"View", s.testView},
		{"Layout", s.testLayout},
		{"ConvForward", s.testConvForward},
		{"ConvBackwardData", s.testConvBackwardData},
		{"ConvBackwardFilter", s.testConvBackwardFilter},
		{"AddBias", s.testAddBias},
		{"BiasBackward", s.testBiasBackward},
		{"BatchNormForwardTraining", s.testBatchNormForwardTraining},
		{"BatchNormForwardInference", s.testBatchNormForwardInference},
		{"BatchNormBackward", s.testBatchNormBackward},
		{"BatchNormAddReLUForwardTraining", s.testBatchNormAddReLUForwardTraining},
		{"BatchNormAddReLUBackward", s.testBatchNormAddReLUBackward},
		{"ReLUForward", s.testReLUForward},
		{"ReLUBackward", s.testReLUBackward},
		{"SigmoidForward", s.testSigmoidForward},
		{"SigmoidBackward", s.testSigmoidBackward},
		{"AddTensor", s.testAddTensor},
		{"Mul", s.testMul},
		{"DropoutMask", s.testDropoutMask},
		{"ShortcutAForward", s.testShortcutAForward},
		{"ShortcutABackward", s.testShortcutABackward},
		{"GlobalAvgPoolForward", s.testGlobalAvgPoolForward},
		{"GlobalAvgPoolBackward", s.testGlobalAvgPoolBackward},
		{"LinearForward", s.testLinearForward},
		{"LinearBackwardData", s.testLinearBackwardData},
		{"LinearBackwardWeight", s.testLinearBackwardWeight},
		{"SoftmaxCrossEntropy", s.testSoftmaxCrossEntropy},
		{"Reduce", s.testReduce},
		{"SGDUpdate", s.testSGDUpdate},
		{"NaN", s.testNaN},
		{"Misuse", s.testMisuse},
	} {
		plain := o.DType == ops.Float32 && o.Layout == ops.NCHW
		if !plain && (g.name == "Memory" || g.name == "View" || g.name == "NaN" || g.name == "Misuse") {
			continue // storage-independent: the float32 NCHW pass checks them
		}
		if o.Layout == ops.NCHW && g.name == "Layout" {
			continue
		}
		t.Run(g.name, g.f)
	}
	if err := b.Sync(); err != nil {
		t.Errorf("Sync after the suite: %v", err)
	}
}
