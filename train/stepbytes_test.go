package train

import (
	"reflect"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opbytes"
)

// The count made on opbytes.Shapes (no storage, no math) is the count of
// the same step run for real on the CPU reference, op kind by op kind, for
// every family, recompute mode, stochastic depth (with dropped units),
// dropout, RoR and option B: what CountStepBytes reports is what a backend
// that computes receives.
func TestStepBytesTwinIsExact(t *testing.T) {
	cases := []struct {
		name      string
		set       func(*models.Config)
		recompute layers.Recompute
	}{
		{"resnet-8", nil, layers.StoreAll},
		{"resnet-8", nil, layers.RecomputeBN},
		{"resnet-8", nil, layers.RecomputeUnit},
		{"resnet-14", func(c *models.Config) { c.SD, c.SDPL = models.SDLinear, 0.5 }, layers.StoreAll},
		{"resnet-14", func(c *models.Config) { c.SD, c.SDPL = models.SDLinear, 0.5 }, layers.RecomputeUnit},
		{"preact-resnet-8", func(c *models.Config) { c.RoR = 3 }, layers.RecomputeBN},
		{"preact-resnet-164", nil, layers.StoreAll},
		{"resnet-8", func(c *models.Config) { c.Variant = models.ExclusiveGating }, layers.StoreAll},
		{"wrn-10-2", func(c *models.Config) { c.Dropout = 0.3 }, layers.StoreAll},
	}
	for _, tc := range cases {
		mc, err := models.Parse(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if tc.set != nil {
			tc.set(&mc)
		}
		twin, err := CountStepBytes(mc, 3, tc.recompute, false, 0, 7)
		if err != nil {
			t.Fatal(err)
		}
		real, err := countStep(opbytes.New(cpuref.New(1)), mc, 3, tc.recompute, false, 7, ops.Float32)
		if err != nil {
			t.Fatal(err)
		}
		if twin.Total <= 0 || !reflect.DeepEqual(twin, real) {
			t.Errorf("%s %v: counted on Shapes %+v, on the CPU reference %+v", tc.name, tc.recompute, twin, real)
		}
		if mc.SD != models.SDOff && (twin.Kept == twin.Units || twin.Kept == 0) {
			t.Errorf("%s: %d of %d units kept; the case wants some dropped", tc.name, twin.Kept, twin.Units)
		}
	}
}

// Dropped units move fewer bytes, recomputation more, and the count is
// a + b·batch (every tensor either batch-proportional or not): a third
// batch size lies on the line through two.
func TestStepBytesShape(t *testing.T) {
	mc, _ := models.Parse("resnet-14")
	count := func(mc models.Config, batch int, rc layers.Recompute) int64 {
		sb, err := CountStepBytes(mc, batch, rc, false, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		return sb.Total
	}
	b1, b2, b7 := count(mc, 1, layers.StoreAll), count(mc, 2, layers.StoreAll), count(mc, 7, layers.StoreAll)
	if b7 != b1+6*(b2-b1) {
		t.Errorf("bytes at batch 1, 2, 7: %d, %d, %d: not linear in the batch", b1, b2, b7)
	}
	if bn, unit := count(mc, 4, layers.RecomputeBN), count(mc, 4, layers.RecomputeUnit); !(count(mc, 4, layers.StoreAll) < bn && bn < unit) {
		t.Errorf("recompute off, bn, unit: %d, %d, %d bytes; want increasing", count(mc, 4, layers.StoreAll), bn, unit)
	}
	sd := mc
	sd.SD, sd.SDPL = models.SDLinear, 0.5
	if s := count(sd, 4, layers.StoreAll); s >= count(mc, 4, layers.StoreAll) {
		t.Errorf("with dropped units %d bytes, without SD %d", s, count(mc, 4, layers.StoreAll))
	}
}

// In half precision (issue 22) the twin still counts what the CPU
// reference receives, and storing activations in 2 bytes moves fewer
// bytes than float32 — more than half of float32's, since weights,
// gradients, momentum, BN statistics and the logits stay 4 bytes.
func TestStepBytesHalf(t *testing.T) {
	for _, name := range []string{"resnet-8", "preact-resnet-8"} {
		mc, err := models.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		f32, err := CountStepBytes(mc, 3, layers.StoreAll, false, 0, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []ops.DType{ops.BFloat16, ops.Float16} {
			twin, err := CountStepBytesAs(mc, 3, layers.StoreAll, false, 0, 7, d)
			if err != nil {
				t.Fatal(err)
			}
			real, err := countStep(opbytes.New(cpuref.New(1)), mc, 3, layers.StoreAll, false, 7, d)
			if err != nil {
				t.Fatal(err)
			}
			// The twin's peak counts 2 bytes a half element, the CPU
			// reference's the 4 its emulation holds.
			if r := float64(twin.PeakBytes) / float64(real.PeakBytes); !(r > 0.5 && r < 0.95) {
				t.Errorf("%s %v: peak %d bytes, %.3f of the emulation's %d; want between 0.5 and 0.95", name, d, twin.PeakBytes, r, real.PeakBytes)
			}
			real.PeakBytes = twin.PeakBytes
			if !reflect.DeepEqual(twin, real) {
				t.Errorf("%s %v: counted on Shapes %+v, on the CPU reference %+v", name, d, twin, real)
			}
			if r := float64(twin.Total) / float64(f32.Total); !(r > 0.5 && r < 0.95) {
				t.Errorf("%s %v: %d bytes, %.3f of float32's %d; want between 0.5 and 0.95", name, d, twin.Total, r, f32.Total)
			}
			t.Logf("%s %v: %.3f of float32's bytes", name, d, float64(twin.Total)/float64(f32.Total))
		}
	}
}
