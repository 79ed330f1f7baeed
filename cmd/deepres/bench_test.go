package main

import (
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/train"
)

// withWorkspace is the CPU reference plus a fixed workspace, standing in for
// the GPU backend, whose PeakBytes counts tensors and WorkspaceBytes the
// cuDNN workspace.
type withWorkspace struct {
	*cpuref.Backend
	work int64
}

func (w withWorkspace) WorkspaceBytes() int64 { return w.work }

// bench reports tensors and workspace apart: the peak is the tensors' alone
// (the same figure as on the CPU), the workspace its own field.
func TestBenchReportsWorkspaceApart(t *testing.T) {
	mc, err := models.Parse("resnet-8")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := bench(cpuref.New(1), mc, 2, 1, 0, layers.StoreAll, true, train.GraphsAuto, ops.Float32, ops.NCHW)
	if err != nil {
		t.Fatal(err)
	}
	if plain.PeakBytes <= 0 || plain.WorkspaceBytes != -1 {
		t.Errorf("CPU: peak %d, workspace %d; want > 0 and -1 (none)", plain.PeakBytes, plain.WorkspaceBytes)
	}
	const work = 3 << 20
	res, err := bench(withWorkspace{cpuref.New(1), work}, mc, 2, 1, 0, layers.StoreAll, true, train.GraphsAuto, ops.Float32, ops.NCHW)
	if err != nil {
		t.Fatal(err)
	}
	if res.WorkspaceBytes != work || res.PeakBytes != plain.PeakBytes {
		t.Errorf("with a workspace: peak %d, workspace %d; want %d and %d", res.PeakBytes, res.WorkspaceBytes, plain.PeakBytes, work)
	}
}
