package train

import (
	"math"
	"testing"
)

func TestSchedules(t *testing.T) {
	for _, tc := range []struct {
		spec        string
		step, total int
		perEpoch    int
		warmup      int
		want        float64
	}{
		{"constant", 999, 1000, 10, 0, 0.1},
		{"step:0.5,0.75", 499, 1000, 10, 0, 0.1},
		{"step:0.5,0.75", 500, 1000, 10, 0, 0.01},
		{"step:0.5,0.75", 750, 1000, 10, 0, 0.001},
		{"multistep:32000,48000", 31999, 64000, 391, 0, 0.1},
		{"multistep:32000,48000", 32000, 64000, 391, 0, 0.01},
		{"multistep:32000,48000", 63999, 64000, 391, 0, 0.001},
		{"multistep:30e,35e", 30*100 - 1, 5000, 100, 0, 0.1},
		{"multistep:30e,35e", 30 * 100, 5000, 100, 0, 0.01},
		{"multistep:30e,35e", 35 * 100, 5000, 100, 0, 0.001},
		{"cosine", 0, 1000, 10, 0, 0.1},
		{"cosine", 500, 1000, 10, 0, 0.05},
		{"multistep:32000,48000", 399, 64000, 391, 400, 0.01}, // warm-up
		{"multistep:32000,48000", 400, 64000, 391, 400, 0.1},
	} {
		s, err := ParseSchedule(tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		if s.String() != tc.spec {
			t.Errorf("round trip %q gives %q", tc.spec, s.String())
		}
		if got := s.LR(0.1, tc.step, tc.total, tc.perEpoch, tc.warmup, 0.01); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s at step %d: lr %g, want %g", tc.spec, tc.step, got, tc.want)
		}
	}
	for _, bad := range []string{"", "step", "step:1.5", "multistep:x", "cosine:1", "linear"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}
