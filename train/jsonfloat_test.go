package train

import (
	"encoding/json"
	"math"
	"testing"
)

// A position with a non-finite best error (the first epoch's +Inf) encodes
// and decodes to the same values.
func TestPositionRoundTripsNonFinite(t *testing.T) {
	for _, best := range []float64{math.Inf(1), math.Inf(-1), math.NaN(), 0.25} {
		p := position{Epoch: 1, Step: 7, LossSum: 1.5, Best: jsonFloat(best)}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("best %v: %v", best, err)
		}
		var q position
		if err := json.Unmarshal(b, &q); err != nil {
			t.Fatalf("best %v: decode %s: %v", best, b, err)
		}
		if q.Step != 7 || q.LossSum != 1.5 || !(float64(q.Best) == best || math.IsNaN(best) && math.IsNaN(float64(q.Best))) {
			t.Errorf("best %v: %s decoded to %+v", best, b, q)
		}
	}
	var q position
	if err := json.Unmarshal([]byte(`{"Best":"lots"}`), &q); err == nil {
		t.Errorf("a bad best error decoded without an error")
	}
}
