package opstest

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// maxReported is how many mismatching elements a failure lists.
const maxReported = 5

// requireClose fails t unless |got[i]−want[i]| <= atol + rtol·|want[i]| for
// every i. A failure reports how many elements differ, the largest error and
// its index, and the first few mismatches. NaN matches nothing: no op of the
// suite is fed values that should produce one.
func requireClose(t *testing.T, name string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d elements, want %d", name, len(got), len(want))
		return
	}
	var first []string
	bad, worstAt, worst := 0, -1, 0.0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if g == w {
			continue // also equal infinities
		}
		d := math.Abs(g - w)
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if d > worst || worstAt < 0 {
			worst, worstAt = d, i
		}
		if d <= atol+rtol*math.Abs(w) {
			continue
		}
		bad++
		if len(first) < maxReported {
			first = append(first, fmt.Sprintf("[%d] got %g want %g", i, got[i], want[i]))
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ beyond atol %g + rtol %g·|want|; max error %g at [%d] (got %g want %g); first: %s",
			name, bad, len(got), atol, rtol, worst, worstAt, got[worstAt], want[worstAt], strings.Join(first, ", "))
	}
}

// requireBitwise fails t unless got and want hold the same bits, element by
// element: inputs must come back from an op exactly as they went in.
func requireBitwise(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d elements, want %d", name, len(got), len(want))
		return
	}
	var first []string
	bad := 0
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			bad++
			if len(first) < maxReported {
				first = append(first, fmt.Sprintf("[%d] got %g want %g", i, got[i], want[i]))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements changed: %s", name, bad, len(got), strings.Join(first, ", "))
	}
}

// requireNoNaN fails t if x holds a NaN: outputs are poisoned with NaN
// before each op, so a NaN left behind is an element the op did not write.
func requireNoNaN(t *testing.T, name string, x []float32) {
	t.Helper()
	var first []int
	bad := 0
	for i, v := range x {
		if v != v {
			bad++
			if len(first) < maxReported {
				first = append(first, i)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements not written (still NaN), first at %v", name, bad, len(x), first)
	}
}
