package opstest

import (
	"fmt"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/deepres/deepres/ops"
)

// foreign is a tensor no backend made.
type foreign struct{ shape ops.Shape }

func (f foreign) Shape() ops.Shape { return f.shape }

// catch runs f and returns the message of its panic, if any.
func catch(f func()) (msg string, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			msg, panicked = fmt.Sprint(r), true
		}
	}()
	f()
	return "", false
}

// prefixes are the starts a misuse panic's message may have: "ops:" and
// the backend's package name with a colon. A backend that wraps another
// (tracing, fault injection) and has an Unwrap() ops.Backend method may
// also panic with the wrapped backend's prefix.
func prefixes(b ops.Backend) []string {
	ps := []string{"ops:"}
	for b != nil {
		t := reflect.TypeOf(b)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		ps = append(ps, path.Base(t.PkgPath())+":")
		u, ok := b.(interface{ Unwrap() ops.Backend })
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	return ps
}

// requirePanic fails t unless f panics with a message that starts with one
// of the backend's prefixes.
func (s *suite) requirePanic(t *testing.T, f func()) {
	t.Helper()
	msg, panicked := catch(f)
	if !panicked {
		t.Errorf("did not panic")
		return
	}
	ps := prefixes(s.b)
	for _, p := range ps {
		if strings.HasPrefix(msg, p) {
			return
		}
	}
	t.Errorf("panic message %q starts with none of %q", msg, ps)
}

// testMisuse gives each op a shape mismatch (or a nil or foreign tensor)
// and expects a prefixed panic; afterwards the backend must still work.
func (s *suite) testMisuse(t *testing.T) {
	b := s.b
	mk := func(shape ...int) ops.Tensor { return tensor(t, b, nil, shape...) }
	c2, c3, c4, c5 := mk(2), mk(3), mk(4), mk(5)
	x10, x11 := mk(10), mk(11)
	act := mk(2, 3, 4, 4)
	conv := ops.Conv(1, 1)
	bn := ops.DefaultBatchNorm
	cases := []struct {
		name string
		f    func()
	}{
		{"ConvForward/channels", func() { b.ConvForward(mk(1, 2, 5, 5), mk(1, 3, 5, 5), mk(2, 4, 3, 3), conv) }},
		{"ConvForward/output_shape", func() { b.ConvForward(mk(1, 2, 4, 4), mk(1, 3, 5, 5), mk(2, 3, 3, 3), conv) }},
		{"ConvBackwardData/dx_shape", func() { b.ConvBackwardData(mk(1, 3, 4, 4), mk(1, 2, 5, 5), mk(2, 3, 3, 3), conv, false) }},
		{"ConvBackwardFilter/dw_shape", func() { b.ConvBackwardFilter(mk(2, 3, 1, 1), mk(1, 2, 5, 5), mk(1, 3, 5, 5), conv) }},
		{"AddBias/channels", func() { b.AddBias(act, c4) }},
		{"BiasBackward/channels", func() { b.BiasBackward(c2, act) }},
		{"BatchNormForwardTraining/gamma", func() { b.BatchNormForwardTraining(mk(2, 3, 4, 4), act, c4, c3, c3, c3, c3, c3, bn) }},
		{"BatchNormForwardInference/runVar", func() { b.BatchNormForwardInference(mk(2, 3, 4, 4), act, c3, c3, c3, c2, bn) }},
		{"BatchNormBackward/dgamma", func() { b.BatchNormBackward(mk(2, 3, 4, 4), c4, c3, mk(2, 3, 4, 4), act, c3, c3, c3, bn, false) }},
		{"BatchNormAddReLUForwardTraining/z_shape", func() {
			b.BatchNormAddReLUForwardTraining(mk(2, 3, 4, 4), act, mk(2, 3, 4, 5), c3, c3, c3, c3, c3, c3, bn)
		}},
		{"BatchNormAddReLUForwardTraining/runMean", func() {
			b.BatchNormAddReLUForwardTraining(mk(2, 3, 4, 4), act, nil, c3, c3, c4, c3, c3, c3, bn)
		}},
		{"BatchNormAddReLUBackward/dz_shape", func() {
			b.BatchNormAddReLUBackward(mk(2, 3, 4, 4), mk(1, 3, 4, 4), c3, c3, mk(2, 3, 4, 4), mk(2, 3, 4, 4), act, c3, c3, c3, bn, false)
		}},
		{"BatchNormAddReLUBackward/y_shape", func() {
			b.BatchNormAddReLUBackward(mk(2, 3, 4, 4), nil, c3, c3, mk(2, 3, 4, 4), mk(2, 3, 4, 5), act, c3, c3, c3, bn, false)
		}},
		{"ReLUForward/nil", func() { b.ReLUForward(nil, x10) }},
		{"ReLUForward/foreign", func() { b.ReLUForward(foreign{ops.Shape{10}}, x10) }},
		{"ReLUBackward/length", func() { b.ReLUBackward(x10, x11, x10, false) }},
		{"SigmoidForward/length", func() { b.SigmoidForward(x11, x10) }},
		{"SigmoidBackward/length", func() { b.SigmoidBackward(x10, x10, x11, false) }},
		{"AddTensor/length", func() { b.AddTensor(x10, x11, 1, 0) }},
		{"Mul/length", func() { b.Mul(x10, x10, x11, 0) }},
		{"DropoutMask/nil", func() { b.DropoutMask(nil, 0.5, 1) }},
		{"ShortcutAForward/fewer_channels", func() { b.ShortcutAForward(mk(1, 2, 2, 2), mk(1, 4, 4, 4)) }},
		{"ShortcutABackward/fewer_channels", func() { b.ShortcutABackward(mk(1, 4, 4, 4), mk(1, 2, 2, 2), false) }},
		{"ShortcutAForward/no_stride", func() { b.ShortcutAForward(mk(1, 3, 4, 4), mk(1, 3, 5, 5)) }},
		{"GlobalAvgPoolForward/shape", func() { b.GlobalAvgPoolForward(mk(2, 4), act) }},
		{"GlobalAvgPoolBackward/shape", func() { b.GlobalAvgPoolBackward(act, mk(3, 3), false) }},
		{"LinearForward/in", func() { b.LinearForward(mk(2, 3), mk(2, 5), mk(3, 4)) }},
		{"LinearBackwardData/in", func() { b.LinearBackwardData(mk(2, 5), mk(2, 3), mk(3, 4), false) }},
		{"LinearBackwardWeight/out", func() { b.LinearBackwardWeight(mk(4, 5), mk(2, 3), mk(2, 5)) }},
		{"SoftmaxCrossEntropy/labels", func() { b.SoftmaxCrossEntropy(mk(2, 5), c2, c2, mk(2, 5), c3) }},
		{"Reduce/dst", func() { b.Reduce(c2, x10, ops.ReduceSum) }},
		{"SGDUpdate/v", func() { b.SGDUpdate(mk(6), mk(6), c5, ops.SGDParams{LR: 0.1}) }},
		{"Copy/length", func() { b.Copy(x10, x11) }},
		{"CopyIn/length", func() { b.CopyIn(x10, make([]float32, 11)) }},
		{"CopyOut/length", func() { _ = b.CopyOut(make([]float32, 11), x10) }},
		{"View/out_of_range", func() { b.View(c5, 3, 3) }},
		{"Free/view", func() { b.Free(b.View(x10, 0, 5)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { s.requirePanic(t, c.f) })
	}
	t.Run("ReLUForward/output_untouched", func(t *testing.T) {
		// The op panics before doing anything: y keeps its contents.
		y := tensor(t, b, filled(10, 3), 10)
		s.requirePanic(t, func() { b.ReLUForward(y, x11) })
		requireBitwise(t, "y", read(t, b, y), filled(10, 3))
	})
	t.Run("still_works", func(t *testing.T) {
		if err := b.Sync(); err != nil {
			t.Fatalf("Sync after misuse panics: %v", err)
		}
		got := exec(t, b, []arg{input("x", f32s(-1, 2), 2), output("y", 2)}, reluFwd)[1]
		requireClose(t, "ReLU after misuse", got, f32s(0, 2), s.o.Atol, s.o.Rtol)
	})
}
