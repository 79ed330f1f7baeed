package gpu

import (
	"errors"
	"testing"

	"github.com/deepres/deepres/ops"
)

// One make per key for the life of the cache; a failure is not kept.
func TestOnceEach(t *testing.T) {
	var o onceEach[int, string]
	calls := map[int]int{}
	fail := true
	mk := func(k int) func() (string, error) {
		return func() (string, error) {
			calls[k]++
			if k == 2 && fail {
				return "", errors.New("transient")
			}
			return "ctx", nil
		}
	}
	for range 3 {
		if v, err := o.get(1, mk(1)); v != "ctx" || err != nil {
			t.Fatalf("get(1) = %q, %v", v, err)
		}
	}
	if _, err := o.get(2, mk(2)); err == nil {
		t.Fatal("get(2) hid make's error")
	}
	fail = false
	if v, err := o.get(2, mk(2)); v != "ctx" || err != nil {
		t.Fatalf("get(2) after a failure = %q, %v", v, err)
	}
	o.get(2, mk(2))
	if calls[1] != 1 || calls[2] != 2 {
		t.Errorf("make called %v times, want key 1 once, key 2 twice (once failing)", calls)
	}
}

// On a GPU or the simulator: Open, Close, ListDevices and Open again, with
// cuDNN and cuBLAS working in the second backend, on the one primary
// context retained once for the process, of the one device opened.
func TestReopenKeepsPrimaryContext(t *testing.T) {
	b := openOrSkip(t, FP32)
	closeOK(t, b)
	devs, err := ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	b = openOrSkip(t, FP32)
	defer closeOK(t, b)
	x, w, y := mustAlloc(t, b, ops.Shape{1, 1, 3, 3}), mustAlloc(t, b, ops.Shape{1, 1, 3, 3}), mustAlloc(t, b, ops.Shape{1, 1, 1, 1})
	b.Fill(x, 1)
	b.Fill(w, 2)
	b.ConvForward(y, x, w, ops.Conv(1, 0)) // cuDNN
	lx, lw, ly := mustAlloc(t, b, ops.Shape{1, 4}), mustAlloc(t, b, ops.Shape{2, 4}), mustAlloc(t, b, ops.Shape{1, 2})
	b.Fill(lx, 1)
	b.Fill(lw, 0.5)
	b.LinearForward(ly, lx, lw) // cuBLAS
	got := make([]float32, 1)
	if err := b.CopyOut(got, y); err != nil || got[0] != 18 {
		t.Errorf("conv after reopening = %v, %v; want 18", got, err)
	}
	lin := make([]float32, 2)
	if err := b.CopyOut(lin, ly); err != nil || lin[0] != 2 || lin[1] != 2 {
		t.Errorf("linear after reopening = %v, %v; want [2 2]", lin, err)
	}
	primary.mu.Lock()
	n := len(primary.m)
	primary.mu.Unlock()
	if n != 1 || len(devs) == 0 {
		t.Errorf("%d primary contexts retained, want 1 (the device opened; listing %d devices retains none)", n, len(devs))
	}
}

// On a GPU or the simulator: PeakBytes counts tensors, WorkspaceBytes the
// cuDNN workspace, each once.
func TestPeakExcludesWorkspace(t *testing.T) {
	b := openWithOrSkip(t, Options{Math: FP32, Workspace: 64 << 20})
	defer closeOK(t, b)
	x := mustAlloc(t, b, ops.Shape{1000})
	b.Fill(x, 1)
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	// cuDNN's, and cuBLAS's for the device's architecture.
	if got, want := b.WorkspaceBytes(), int64(64<<20)+blasWorkspaceBytes(b.info.ComputeMajor); got != want {
		t.Errorf("WorkspaceBytes = %d, want %d", got, want)
	}
	if got := b.PeakBytes(); got != sizeClass(4000) {
		t.Errorf("PeakBytes = %d, want %d (one 1000-float tensor, no workspace)", got, sizeClass(4000))
	}
}
