package cpuref

import "sync"

// parallelFor splits [0, n) into min(threads, n) contiguous ranges, fixed by
// n and the thread count alone, and runs body on each in its own goroutine.
// Each range is handled by the same worker index every time (worker i gets
// the i-th range), so workers may own scratch space, and results never depend
// on scheduling.
func (b *Backend) parallelFor(n int, body func(worker, lo, hi int)) {
	parts := min(b.threads, n)
	if parts <= 1 {
		if n > 0 {
			body(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*n/parts, (i+1)*n/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(i, lo, hi)
		}()
	}
	wg.Wait()
}

// parallelRange is parallelFor for bodies that need no worker index, with
// small n run inline: below grain elements the goroutines cost more than they save.
func (b *Backend) parallelRange(n, grain int, body func(lo, hi int)) {
	if n < grain {
		body(0, n)
		return
	}
	b.parallelFor(n, func(_, lo, hi int) { body(lo, hi) })
}
