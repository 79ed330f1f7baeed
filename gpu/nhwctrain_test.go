package gpu_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/gpu"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/train"
)

// nhwcWatch is the GPU backend counting the convolutions it runs and those
// whose output is NHWC, so that a test of channels-last training knows the
// network really stored its activations so (every method of *gpu.Backend,
// ops.LayoutSupporter's included, is promoted).
type nhwcWatch struct {
	*gpu.Backend
	convs, nhwc int
}

func (w *nhwcWatch) ConvForward(y, x, wt ops.Tensor, p ops.ConvParams) {
	w.convs++
	if ops.LayoutOf(y) == ops.NHWC {
		w.nhwc++
	}
	w.Backend.ConvForward(y, x, wt, p)
}

// allNHWC fails t unless every convolution w ran wrote NHWC activations
// (the stem's input, the float32 images, stays NCHW in float32 runs).
func (w *nhwcWatch) allNHWC(t *testing.T) {
	t.Helper()
	if w.convs == 0 || w.nhwc != w.convs {
		t.Errorf("%d of %d convolutions ran on NHWC activations, want all", w.nhwc, w.convs)
	}
}

// TestNHWCHalfTrainingMatchesCPU is TestHalfTrainingMatchesCPU with the GPU
// network storing its activations channels-last (--layout nhwc, what
// --layout auto picks for half precision on a GPU) against the CPU's NCHW
// emulation, which computes the same values in every layout
// (cpuref/layout.go): within the same halfTrainK unit roundoffs. The cases
// run cuDNN's NHWC convolutions (KRSC half weight copies), batch norm and
// ReLU, and the nhwc-indexed kernels: bias-free option-A shortcuts, global
// average pooling, the fused BN-add-ReLU statistics and apply passes.
func TestNHWCHalfTrainingMatchesCPU(t *testing.T) {
	g := openFP32(t)
	for _, act := range []ops.DType{ops.BFloat16, ops.Float16} {
		for _, tc := range []struct {
			name string
			fuse bool
		}{{"resnet-20", false}, {"preact-resnet-20", true}} {
			t.Run(fmt.Sprintf("%v/%s/fuse=%v", act, tc.name, tc.fuse), func(t *testing.T) {
				cfg, err := models.Parse(tc.name)
				if err != nil {
					t.Fatal(err)
				}
				cfg.SD = models.SDLinear
				w := &nhwcWatch{Backend: g}
				d, worst := compareHalfTraining(t, cfg, act, w, ops.NHWC, cpuref.New(0), tc.fuse)
				w.allNHWC(t)
				t.Logf("worst |gpu − cpu| / (u·(1+|cpu|)) = %.3g (%s)", worst, d.worst)
				if d.bad > 0 {
					t.Errorf("%d values differ beyond %d·u·(1+|cpu|); worst %s, %.3g u", d.bad, halfTrainK, d.worst, worst)
				}
			})
		}
	}
}

// TestNHWCTrainingMatchesNCHW trains the same float32 networks on the GPU
// in both layouts, from the same weights, batches, stochastic-depth draws
// and dropout masks (drawn in logical order in both), and requires the
// same losses, weights and BN statistics within compareTraining's float32
// tolerance: the layout changes where values lie, not what is computed
// (cuDNN's algorithms may differ per layout, hence not bitwise). The
// networks cover option-A shortcuts (strided and padded channels),
// average-pool shortcuts, dropout masks, RoR, stochastic depth, the fused
// BN-add-ReLU kernels and recomputation.
func TestNHWCTrainingMatchesNCHW(t *testing.T) {
	g := openFP32(t)
	cases := trainingCases()
	for _, tc := range cases {
		switch tc.name {
		case "resnet-20/sd/ror3", "resnet-20/sd/avgpool", "wrn-10-2/dropout", "resnet-20/sd/ror3/fused",
			"preact-resnet-20/sd/fused/recompute-unit":
		default:
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			w := &nhwcWatch{Backend: g}
			d := compareTrainingLaid(t, tc.cfg(t), w, ops.NHWC, g, ops.NCHW, tc.recompute, tc.fuse)
			w.allNHWC(t)
			if d.bad > 0 {
				t.Errorf("%d values differ beyond tolerance; worst %s (score %.3g)", d.bad, d.worst, d.score)
			}
		})
	}
}

// TestNHWCGraphIsBitwiseEager is TestGraphTrainingIsBitwiseEager for
// channels-last runs: bf16 with the fused BN-ReLU and stochastic depth
// (conditional nodes), fp16 with its device-side loss scaling, and
// float32 with dropout, whose convolutions convert their NCHW weights to
// NHWC inside the captured step (relaid's slots): the captured step
// replays bitwise what the eager one computes.
func TestNHWCGraphIsBitwiseEager(t *testing.T) {
	stats := filepath.Join(t.TempDir(), "stats.json")
	t.Setenv("CUDASIM_STATS", stats)
	g := openFP32(t)
	for _, tc := range []struct {
		name, model, precision string
		set                    func(*models.Config)
		fuse                   bool
	}{
		{"bf16/preact-resnet-20/sd/fused", "preact-resnet-20", "bf16", func(c *models.Config) { c.SD, c.SDPL = models.SDUniform, 0.5 }, true},
		{"fp16/resnet-20", "resnet-20", "fp16", func(c *models.Config) {}, false},
		{"fp32/wrn-10-2/dropout", "wrn-10-2", "fp32", func(c *models.Config) { c.Dropout = 0.3 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc, err := models.Parse(tc.model)
			if err != nil {
				t.Fatal(err)
			}
			tc.set(&mc)
			graphMatchesEagerWith(t, g, stats, mc, layers.StoreAll, tc.fuse, func(c *train.Config) {
				c.Precision, c.Layout = tc.precision, "nhwc"
			})
		})
	}
}
