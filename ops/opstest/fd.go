package opstest

import (
	"fmt"
	"math"
	"testing"
)

// Finite-difference checks run the forward op on the backend under test, in
// float32, and sum the loss on the host in float64. For a step d = x₊ − x₋
// with x± = float32(x ± h·v) (the rounded points themselves, so rounding the
// step costs nothing), central differences give
//
//	L(x₊) − L(x₋) = <g, d> + O(h³)
//
// and the check is |ΔL − <g,d>| <= fdRtol·|<g,d>| + 16·u·S, where S sums the
// magnitudes of the terms of L at both points (float32 rounding errors of
// the outputs scale with it) and u = max(2⁻²⁴, Rtol/100) is the unit
// roundoff, larger for a backend run with loose (TF32) tolerances.
// Linear ops use h = 1: their truncation error is zero. Smooth ops use
// h = 0.05, where the O(h²) relative truncation error stays near 1e-3 for the
// O(1) inputs the suite draws, well inside fdRtol. ReLU inputs keep |x| >= 0.1
// so that no step crosses the kink.
const (
	fdRtol   = 1e-2
	hLinear  = 1
	hSmooth  = 0.05
	fdProbes = 3 // single elements checked besides the two random directions
)

// checkGrad compares grad, the analytic gradient of loss at x, with central
// differences of loss along two random directions and at the first, the
// last and one random element. loss returns L and its scale S.
func (s *suite) checkGrad(t *testing.T, name string, x, grad []float32, h float32, loss func(x []float32) (l, scale float64)) {
	t.Helper()
	if len(x) != len(grad) {
		t.Fatalf("%s: gradient has %d elements, input %d", name, len(grad), len(x))
	}
	u := math.Max(math.Pow(2, -24), s.o.Rtol/100)
	rtol := math.Max(fdRtol, s.o.Rtol)
	rng := newRand()
	type direction struct {
		what string
		v    []float32
	}
	var dirs []direction
	for k := range 2 {
		dirs = append(dirs, direction{fmt.Sprintf("random direction %d", k), uniform(rng, len(x), -1, 1)})
	}
	for _, j := range []int{0, len(x) - 1, rng.IntN(len(x))}[:fdProbes] {
		v := make([]float32, len(x))
		v[j] = 1
		dirs = append(dirs, direction{fmt.Sprintf("element [%d]", j), v})
	}
	for _, dir := range dirs {
		xp, xm := make([]float32, len(x)), make([]float32, len(x))
		analytic := 0.0
		for i := range x {
			xp[i] = x[i] + h*dir.v[i]
			xm[i] = x[i] - h*dir.v[i]
			analytic += float64(grad[i]) * (float64(xp[i]) - float64(xm[i]))
		}
		lp, sp := loss(xp)
		lm, sm := loss(xm)
		fd := lp - lm
		tol := rtol*math.Abs(analytic) + 16*u*(sp+sm)
		if math.Abs(fd-analytic) > tol || math.IsNaN(fd) {
			t.Errorf("%s along %s: finite difference %.7g, analytic %.7g (gradient·step), |diff| %.3g > tolerance %.3g",
				name, dir.what, fd, analytic, math.Abs(fd-analytic), tol)
		}
	}
}

// dot is L = <r, y> and its scale Σ|r·y|, in float64.
func dot(r, y []float32) (l, scale float64) {
	for i := range r {
		p := float64(r[i]) * float64(y[i])
		l += p
		scale += math.Abs(p)
	}
	return l, scale
}
