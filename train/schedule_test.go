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
		// Huang et al.: 0.01 from 1-based epoch 250 (249 completed), 0.001 from 375.
		{"multistep:249e,374e", 249*352 - 1, 500 * 352, 352, 0, 0.1},
		{"multistep:249e,374e", 249 * 352, 500 * 352, 352, 0, 0.01},
		{"multistep:249e,374e", 374 * 352, 500 * 352, 352, 0, 0.001},
		// Zagoruyko and Komodakis: ×0.2 from 1-based epochs 60, 120, 160.
		{"multistep:59e,119e,159e@0.2", 59*390 - 1, 200 * 390, 390, 0, 0.1},
		{"multistep:59e,119e,159e@0.2", 59 * 390, 200 * 390, 390, 0, 0.02},
		{"multistep:59e,119e,159e@0.2", 159 * 390, 200 * 390, 390, 0, 0.1 * 0.2 * 0.2 * 0.2},
		{"step:0.5,0.75@0.5", 750, 1000, 10, 0, 0.025},
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
	for _, bad := range []string{"", "step", "step:1.5", "multistep:x", "cosine:1", "linear", "cosine@0.2", "step:0.5@1", "step:0.5@0", "multistep:30e@x"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}
