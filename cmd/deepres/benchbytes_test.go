package main

import (
	"encoding/json"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/train"
)

// bench --json reports bytes_per_step and its breakdown: the count of the
// timed network's step (its batch and recompute mode).
func TestBenchReportsBytesPerStep(t *testing.T) {
	mc, err := models.Parse("resnet-8")
	if err != nil {
		t.Fatal(err)
	}
	res, err := bench(cpuref.New(1), mc, 2, 1, 0, layers.RecomputeBN, train.GraphsAuto)
	if err != nil {
		t.Fatal(err)
	}
	want, err := train.CountStepBytes(mc, 2, layers.RecomputeBN, 0, 1)
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
