package gpu

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepres/deepres/ops"
)

// fakeMemory hands out increasing addresses up to a capacity.
type fakeMemory struct {
	next, used, capacity int64
	blocks               map[uint64]int64
	allocs, frees        int
}

func newFakeMemory(capacity int64) *fakeMemory {
	return &fakeMemory{next: 1 << 20, capacity: capacity, blocks: map[uint64]int64{}}
}

func (m *fakeMemory) alloc(n int64) (uint64, error) {
	if m.used+n > m.capacity {
		return 0, fmt.Errorf("fake: %w", errDeviceOOM)
	}
	p := uint64(m.next)
	m.next += n
	m.used += n
	m.blocks[p] = n
	m.allocs++
	return p, nil
}

func (m *fakeMemory) free(p uint64) error {
	n, ok := m.blocks[p]
	if !ok {
		return fmt.Errorf("fake: double free of %#x", p)
	}
	delete(m.blocks, p)
	m.used -= n
	m.frees++
	return nil
}

func TestSizeClass(t *testing.T) {
	tests := []struct{ n, want int64 }{
		{0, 512}, {1, 512}, {512, 512}, {513, 640}, {640, 640}, {641, 768},
		{1024, 1024}, {1025, 1280}, {3000, 3072}, {1 << 20, 1 << 20}, {1<<20 + 1, 1<<20 + 1<<18},
	}
	for _, tc := range tests {
		if got := sizeClass(tc.n); got != tc.want {
			t.Errorf("sizeClass(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	// Every class holds its request and wastes at most a quarter.
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		n := 1 + r.Int64N(1<<30)
		c := sizeClass(n)
		if c < n || (n > minBlock && c-n > c/4) {
			t.Fatalf("sizeClass(%d) = %d", n, c)
		}
	}
}

// A steady state of equal-sized allocations reaches the device only in the
// first round; blocks are reused, accounting balances, release frees all.
func TestAllocatorSteadyState(t *testing.T) {
	dev := newFakeMemory(1 << 30)
	a := newAllocator(dev)
	sizes := []int64{4 * 128 * 16 * 32 * 32, 4 * 16, 4 * 128 * 10, 4 * 128 * 16 * 32 * 32}
	for step := range 5 {
		var ps []uint64
		for _, n := range sizes {
			p, err := a.get(n)
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		for _, p := range ps {
			a.put(p)
		}
		if dev.allocs != len(sizes) {
			t.Fatalf("step %d: %d device allocations, want %d", step, dev.allocs, len(sizes))
		}
		if a.inUse != 0 {
			t.Fatalf("step %d: %d bytes in use after freeing all", step, a.inUse)
		}
	}
	if err := a.release(); err != nil {
		t.Fatal(err)
	}
	if dev.used != 0 || len(dev.blocks) != 0 {
		t.Errorf("after release the device still holds %d bytes", dev.used)
	}
}

// When the device is full, cached blocks are given back and the allocation retried.
func TestAllocatorTrimsOnOOM(t *testing.T) {
	dev := newFakeMemory(4096)
	a := newAllocator(dev)
	p, err := a.get(3000) // class 3072
	if err != nil {
		t.Fatal(err)
	}
	a.put(p)
	if _, err := a.get(2000); err != nil { // class 2048: fits only after trimming
		t.Fatalf("get after trim: %v", err)
	}
	if a.cached != 0 || dev.frees != 1 {
		t.Errorf("cached %d bytes, %d device frees; want 0 and 1", a.cached, dev.frees)
	}
	if _, err := a.get(4096); err == nil {
		t.Error("allocation beyond capacity succeeded")
	}
}

func TestAllocatorDoubleFreePanics(t *testing.T) {
	a := newAllocator(newFakeMemory(1 << 20))
	p, _ := a.get(100)
	a.put(p)
	defer func() {
		if recover() == nil {
			t.Error("second put of the same block did not panic")
		}
	}()
	a.put(p)
}

func TestAllocatorPeak(t *testing.T) {
	a := newAllocator(newFakeMemory(1 << 30))
	p1, _ := a.get(1000)
	p2, _ := a.get(3000)
	a.put(p1)
	p3, _ := a.get(1000) // reuses p1's block: the peak does not grow
	a.put(p2)
	a.put(p3)
	if want := sizeClass(1000) + sizeClass(3000); a.peak != want {
		t.Errorf("peak %d, want %d", a.peak, want)
	}
}

// linearDims is pure shape logic, so it is checked without a GPU.
func TestLinearDims(t *testing.T) {
	x, w, y := &tensor{shape: ops.Shape{4, 3}}, &tensor{shape: ops.Shape{5, 3}}, &tensor{shape: ops.Shape{4, 5}}
	if n, in, out := linearDims("LinearForward", [3]string{"x", "w", "y"}, x, w, y); n != 4 || in != 3 || out != 5 {
		t.Errorf("dims %d %d %d, want 4 3 5", n, in, out)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "ops: LinearForward: shapes x (4,3), w (5,2), y (4,5)") {
			t.Errorf("mismatch panicked with %v", r)
		}
	}()
	linearDims("LinearForward", [3]string{"x", "w", "y"}, x, &tensor{shape: ops.Shape{5, 2}}, y)
}

// After a device failure every cuMemFree fails: Close reports the first
// failure once, not one line per block, and stops calling the device.
func TestReleaseStopsAtFirstError(t *testing.T) {
	m := newFakeMemory(1 << 30)
	a := newAllocator(m)
	for i := range 1000 {
		p, err := a.get(int64(512 * (1 + i%7)))
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			a.put(p) // some cached, some live
		}
	}
	blocks := len(a.live)
	for _, l := range a.free {
		blocks += len(l)
	}
	if blocks < 100 {
		t.Fatalf("only %d blocks; the test wants many", blocks)
	}
	dead := &failingMemory{err: errors.New("cuMemFree_v2: CUDA_ERROR_ILLEGAL_ADDRESS")}
	a.dev = dead
	err := a.release()
	if err == nil {
		t.Fatal("release after a device failure returned nil")
	}
	if dead.calls != 1 {
		t.Errorf("cuMemFree called %d times after it failed, want 1", dead.calls)
	}
	if msg := err.Error(); strings.Count(msg, "ILLEGAL_ADDRESS") != 1 || strings.Contains(msg, "\n") || !strings.Contains(msg, fmt.Sprintf("(%d more blocks not freed)", blocks-1)) {
		t.Errorf("release error = %q; want the first failure once and the count left", msg)
	}
	if !errors.Is(err, dead.err) {
		t.Error("release error does not wrap the device's error")
	}
	if len(a.live) != 0 || a.inUse != 0 || a.cached != 0 || len(a.free) != 0 {
		t.Errorf("allocator not emptied: %d live, %d in use, %d cached", len(a.live), a.inUse, a.cached)
	}
}

type failingMemory struct {
	err   error
	calls int
}

func (m *failingMemory) alloc(int64) (uint64, error) { return 0, m.err }
func (m *failingMemory) free(uint64) error           { m.calls++; return m.err }

func TestFreeAll(t *testing.T) {
	var freed []uint64
	ok := func(p uint64) error { freed = append(freed, p); return nil }
	if err := freeAll([]uint64{1, 2, 3}, ok); err != nil || len(freed) != 3 {
		t.Errorf("freeAll = %v, freed %v", err, freed)
	}
	bad := errors.New("boom")
	last := func(p uint64) error {
		if p == 3 {
			return bad
		}
		return nil
	}
	if err := freeAll([]uint64{1, 2, 3}, last); err != bad {
		t.Errorf("failure on the last block = %v, want it unadorned", err)
	}
}

// The cuDNN workspace is reserved apart: the peak counts tensors only, as
// PeakBytes documents, and reserved says what the workspace holds.
func TestReservedNotInPeak(t *testing.T) {
	m := newFakeMemory(1 << 30)
	a := newAllocator(m)
	const work = 256 << 20
	if _, err := a.getReserved(work); err != nil {
		t.Fatal(err)
	}
	p1, _ := a.get(1000)
	p2, _ := a.get(3000)
	a.put(p1)
	a.put(p2)
	if want := sizeClass(1000) + sizeClass(3000); a.peak != want {
		t.Errorf("peak %d, want %d (tensors only)", a.peak, want)
	}
	if a.reserved != work || a.inUse != 0 {
		t.Errorf("reserved %d, in use %d; want %d and 0", a.reserved, a.inUse, work)
	}
	if err := a.release(); err != nil || m.used != 0 || a.reserved != 0 {
		t.Errorf("release: %v, %d bytes still allocated, reserved %d", err, m.used, a.reserved)
	}
}
