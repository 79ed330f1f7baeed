package train

import (
	"context"
	"testing"

	"github.com/deepres/deepres/internal/synth"
	"github.com/deepres/deepres/layers"
)

// An epoch whose last batch is short (40 images in batches of 16) trains
// with RoR's extra shortcuts in every recompute mode: their gradient
// accumulators are viewed at the batch's size (they once kept the largest
// batch's shape, and the short batch panicked in ConvBackwardData).
func TestShortLastBatchWithRoR(t *testing.T) {
	for _, rc := range []layers.Recompute{layers.StoreAll, layers.RecomputeBN, layers.RecomputeUnit} {
		t.Run(rc.String(), func(t *testing.T) {
			cfg := testConfig(t, "resnet-20", t.TempDir())
			cfg.Model.RoR, cfg.Recompute, cfg.Epochs = 3, rc, 1
			tr := newTrainer(t, cfg, synth.Dataset(40, 1), nil)
			defer tr.Close()
			if err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := tr.Position(); got != 3 {
				t.Fatalf("ran %d steps, want 3 (16 + 16 + 8 images)", got)
			}
		})
	}
}
