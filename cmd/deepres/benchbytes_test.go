package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/train"
)

// bench --json reports bytes_per_step and its breakdown: the count of the
// timed network's step (its batch and recompute mode).
func TestBenchReportsBytesPerStep(t *testing.T) {
	mc, err := models.Parse("resnet-8")
	if err != nil {
		t.Fatal(err)
	}
	res, err := bench(cpuref.New(1), mc, 2, 1, 0, layers.RecomputeBN, false, train.GraphsAuto, ops.Float32, ops.NCHW)
	if err != nil {
		t.Fatal(err)
	}
	want, err := train.CountStepBytes(mc, 2, layers.RecomputeBN, false, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, b := range res.BytesByOp {
		sum += b
	}
	if res.BytesPerStep != want.Total || res.BytesPerStep <= 0 || sum != res.BytesPerStep {
		t.Errorf("bytes_per_step %d (by op summing to %d), want %d counted for recompute bn", res.BytesPerStep, sum, want.Total)
	}
	js, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["bytes_per_step"].(float64); !ok || int64(v) != want.Total {
		t.Errorf("bench JSON bytes_per_step = %v, want %d", m["bytes_per_step"], want.Total)
	}
	if by, ok := m["bytes_by_op"].(map[string]any); !ok || by["ConvForward"] == nil {
		t.Errorf("bench JSON bytes_by_op = %v, want a ConvForward entry", m["bytes_by_op"])
	}
}

// bench --bytes-only counts without a device: the count of the step, the
// mode auto picks, and the SD mask as a string pytorch_ref.py takes.
func TestBenchBytesOnly(t *testing.T) {
	out, stderr, code := run(t, "bench", "--model", "resnet-14", "--sd", "linear:0.5", "--batch-size", "4", "--recompute", "auto", "--bytes-only", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Recompute    string `json:"recompute"`
		UnitsKeep    string `json:"units_keep"`
		UnitsKept    int    `json:"units_kept"`
		BytesPerStep int64  `json:"bytes_per_step"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	mc, _ := models.Parse("resnet-14")
	mc.SD, mc.SDPL = models.SDLinear, 0.5
	want, err := train.CountStepBytes(mc, 4, layers.StoreAll, false, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Recompute != "off" || r.BytesPerStep != want.Total || len(r.UnitsKeep) != 6 || strings.Count(r.UnitsKeep, "1") != r.UnitsKept || r.UnitsKept != want.Kept {
		t.Errorf("got %+v, want recompute off, %d bytes, %d of 6 units kept", r, want.Total, want.Kept)
	}
}

// TestBenchCountsTheFusedStep: with --fuse the count is the fused network's,
// and fusing moves fewer bytes (one pass where three were).
func TestBenchCountsTheFusedStep(t *testing.T) {
	mc, err := models.Parse("resnet-8")
	if err != nil {
		t.Fatal(err)
	}
	res, err := bench(cpuref.New(1), mc, 2, 1, 0, layers.StoreAll, true, train.GraphsAuto, ops.Float32, ops.NCHW)
	if err != nil {
		t.Fatal(err)
	}
	fused, err := train.CountStepBytes(mc, 2, layers.StoreAll, true, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	unfused, err := train.CountStepBytes(mc, 2, layers.StoreAll, false, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.BytesPerStep != fused.Total || res.BytesByOp["BatchNormAddReLUForwardTraining"] == 0 {
		t.Errorf("bench --fuse: bytes_per_step %d (fused op %d bytes), want %d counted fused", res.BytesPerStep, res.BytesByOp["BatchNormAddReLUForwardTraining"], fused.Total)
	}
	if fused.Total >= unfused.Total {
		t.Errorf("fused step %d bytes, unfused %d: fusing should move fewer", fused.Total, unfused.Total)
	}
}
