package opstest

import (
	"math"
	"testing"

	"github.com/deepres/deepres/ops"
)

// A half pass (Options.DType bfloat16 or float16) stores the activations
// of each case (inputs, outputs and their gradients) in that type, and
// keeps float32 what a network keeps float32 (layers.Env.Act): parameters
// and their gradients, batch-norm statistics, the optimiser's state, the
// logits, the loss and its gradient. float32Args names them; a conv's and
// the linear layer's w and dw are half all the same (weightIn, weightOut),
// and LinearForward's y float32 (logitsOut), as layers stores them.
var float32Args = map[string]bool{
	"w": true, "dw": true, "b": true, "db": true, "gamma": true, "beta": true, "dgamma": true, "dbeta": true,
	"runMean": true, "runVar": true, "saveMean": true, "saveInvStd": true, "v": true, "lr": true, "base": true,
	"logits": true, "dlogits": true, "losses": true, "correct": true, "labels": true, "dst": true,
}

// The ops that read a weight in a network read the half copy that
// layers.halfWeight casts (conv, linear), so their cases mark w and dw
// as cast: weightIn and weightOut.
func weightIn(data []float32, shape ...int) arg {
	a := input("w", data, shape...)
	a.cast = true
	return a
}

func weightOut(shape ...int) arg {
	a := output("dw", shape...)
	a.cast = true
	return a
}

// logitsOut is LinearForward's output, float32 in every pass: layers.Linear
// writes the logits in float32 for the loss.
func logitsOut(shape ...int) arg {
	a := output("y", shape...)
	a.keep32 = true
	return a
}

// typed returns args with the pass's storage type set on the activations.
func (s *suite) typed(args []arg) []arg {
	if s.o.DType == ops.Float32 {
		return args
	}
	out := make([]arg, len(args))
	for i, a := range args {
		if (a.cast || !float32Args[a.name]) && !a.keep32 {
			a.dtype = s.o.DType
		}
		out[i] = a
	}
	return out
}

// reference returns args for the float32 reference: every tensor float32,
// holding what the half tensors of typed(args) hold (their data rounded),
// so both sides start from the same values and differ only in how the
// backend under test stores its outputs.
func (s *suite) reference(args []arg) []arg {
	out := s.typed(args)
	for i, a := range out {
		if a.dtype != ops.Float32 && a.data != nil {
			a.data = clone(a.data)
			ops.RoundSlice(a.dtype, a.data)
		}
		a.dtype = ops.Float32
		out[i] = a
	}
	return out
}

// halfTolerance widens float32 tolerances for storage type d. Each op
// computes in float32 (or wider) from the same inputs as the reference
// and rounds its half output once when it stores it, which multiplies it
// by (1+δ), |δ| <= u (d.UnitRoundoff(): bf16 2^-8, fp16 2^-11). The add
// and alias checks compare two such results (one more rounding), so:
//
//	|got − want| <= (Atol + 2^-24) + (Rtol + 2u)·|want|
//
// the 2^-24 being float16's subnormal spacing, the most a value that
// rounds into its subnormal range can move absolutely.
func halfTolerance(d ops.DType, atol, rtol float64) (float64, float64) {
	return atol + math.Ldexp(1, -24), rtol + 2*d.UnitRoundoff()
}

// requireSumClose checks a half dx (add=true) against its two terms: got
// is the sum a+g rounded once, where plain holds g rounded once, so the
// error is relative to the terms, not to their (possibly cancelling) sum:
//
//	|got − (a+plain)| <= atol + rtol·(|a| + |plain|)
func requireSumClose(t *testing.T, name string, got, a, plain []float32, atol, rtol float64) {
	t.Helper()
	bad := 0
	for i := range got {
		want := float64(a[i]) + float64(plain[i])
		bound := atol + rtol*(math.Abs(float64(a[i]))+math.Abs(float64(plain[i])))
		if d := math.Abs(float64(got[i]) - want); !(d <= bound) {
			if bad < maxReported {
				t.Errorf("%s: [%d] got %g want %g (= %g + %g), beyond %g", name, i, got[i], want, a[i], plain[i], bound)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements beyond tolerance", name, bad, len(got))
	}
}
