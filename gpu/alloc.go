package gpu

import (
	"errors"
	"fmt"
	"math/bits"
)

// memory is what the caching allocator needs from the device; the real one
// calls cuMemAlloc_v2/cuMemFree_v2, tests use a fake.
type memory interface {
	alloc(bytes int64) (uint64, error) // wraps errDeviceOOM when full
	free(p uint64) error
}

// errDeviceOOM marks a device allocation that failed for lack of memory.
var errDeviceOOM = errors.New("device allocation failed: out of memory")

// allocator caches freed blocks in per-size-class free lists, so that a
// training step that allocates and frees the same sizes every iteration
// reaches cuMemAlloc only in its first step.
type allocator struct {
	dev     memory
	free    map[int64][]uint64 // size class → cached blocks
	live    map[uint64]int64   // block → its size class
	inUse   int64              // bytes in live blocks
	cached  int64              // bytes in free lists
	devCall int                // successful device allocations, for tests and stats
	peak    int64              // the largest inUse seen
	// reserved counts blocks held for the backend's life (the cuDNN
	// workspace), kept out of inUse and peak, which measure tensors.
	reserved int64
}

func newAllocator(dev memory) *allocator {
	return &allocator{dev: dev, free: map[int64][]uint64{}, live: map[uint64]int64{}}
}

// minBlock is the smallest block: 512 bytes keeps every block aligned for
// any vector load and small tensors (biases, BN statistics) cheap to cache.
const minBlock = 512

// sizeClass rounds n up to a class: four classes per power of two above
// minBlock, so a block wastes at most a quarter of its size and a handful of
// classes serve all the shapes of one network.
func sizeClass(n int64) int64 {
	if n <= minBlock {
		return minBlock
	}
	step := int64(1) << (bits.Len64(uint64(n-1)) - 3)
	return (n + step - 1) / step * step
}

// get returns a block of at least n bytes. When the device is full it
// returns every cached block to the device and tries once more.
func (a *allocator) get(n int64) (uint64, error) {
	c := sizeClass(n)
	if l := a.free[c]; len(l) > 0 {
		p := l[len(l)-1]
		a.free[c] = l[:len(l)-1]
		a.cached -= c
		a.live[p] = c
		a.inUse += c
		a.peak = max(a.peak, a.inUse)
		return p, nil
	}
	p, err := a.dev.alloc(c)
	if errors.Is(err, errDeviceOOM) && a.cached > 0 {
		if rerr := a.trim(); rerr != nil {
			return 0, rerr
		}
		p, err = a.dev.alloc(c)
	}
	if err != nil {
		return 0, err
	}
	a.devCall++
	a.live[p] = c
	a.inUse += c
	a.peak = max(a.peak, a.inUse)
	return p, nil
}

// getReserved is get for a block held until release (the cuDNN workspace):
// it counts in reserved, not in inUse or peak, so that PeakBytes measures
// what the tensors hold, as the CPU reference's does. It is never put back.
func (a *allocator) getReserved(n int64) (uint64, error) {
	peak := a.peak
	p, err := a.get(n)
	if err != nil {
		return 0, err
	}
	c := a.live[p]
	a.inUse -= c
	a.peak = peak
	a.reserved += c
	return p, nil
}

// put returns a block to its free list.
func (a *allocator) put(p uint64) {
	c, ok := a.live[p]
	if !ok {
		panic(fmt.Sprintf("gpu: freeing %#x, which this allocator did not hand out or already took back", p))
	}
	delete(a.live, p)
	a.inUse -= c
	a.free[c] = append(a.free[c], p)
	a.cached += c
}

// trim gives every cached block back to the device.
func (a *allocator) trim() error { return freeAll(a.takeCached(), a.dev.free) }

// takeCached empties the free lists and returns their blocks.
func (a *allocator) takeCached() []uint64 {
	var blocks []uint64
	for c, l := range a.free {
		blocks = append(blocks, l...)
		a.cached -= c * int64(len(l))
		delete(a.free, c)
	}
	return blocks
}

// release frees everything, live blocks included (Close).
func (a *allocator) release() error {
	blocks := a.takeCached()
	for p := range a.live {
		blocks = append(blocks, p)
	}
	clear(a.live)
	a.inUse, a.reserved = 0, 0
	return freeAll(blocks, a.dev.free)
}

// freeAll frees every block, stopping at the first failure: after a device
// failure every free fails the same way (the error is sticky on the context,
// CUDA Driver API "Error Handling"), and one error per block would bury the
// cause under thousands of identical lines. The error counts the blocks left.
func freeAll(blocks []uint64, free func(uint64) error) error {
	for i, p := range blocks {
		if err := free(p); err != nil {
			if left := len(blocks) - i - 1; left > 0 {
				return fmt.Errorf("%w (%d more blocks not freed)", err, left)
			}
			return err
		}
	}
	return nil
}
