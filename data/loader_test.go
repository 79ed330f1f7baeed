package data

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

// batchCopy is a batch taken out of the loader's reused buffers.
type batchCopy struct {
	x, y  []float32
	index int
	shape string
}

func epochBatches(t *testing.T, l *Loader, epoch, from int) []batchCopy {
	t.Helper()
	l.StartEpochAt(epoch, from)
	var out []batchCopy
	for {
		b, ok := l.Next()
		if !ok {
			return out
		}
		out = append(out, batchCopy{
			x:     slices.Clone(b.X.Data().([]float32)),
			y:     slices.Clone(b.Labels.Data().([]float32)),
			index: b.Index,
			shape: fmt.Sprint(b.X.Shape(), b.Labels.Shape()),
		})
	}
}

func sameBatches(t *testing.T, got, want []batchCopy) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d batches, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.index != w.index || g.shape != w.shape || !slices.Equal(g.y, w.y) || !slices.Equal(g.x, w.x) {
			t.Fatalf("batch %d differs (index %d vs %d, shape %s vs %s)", i, g.index, w.index, g.shape, w.shape)
		}
	}
}

func TestLoaderWorkersAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 75, 8, 8, 10)
	for _, cfg := range []LoaderConfig{
		{BatchSize: 16, Shuffle: true, Augment: true, Seed: 7, Norm: CIFAR10Norm},
		{BatchSize: 16, Shuffle: true, Augment: true, DropLast: true, Seed: 7, Norm: CIFAR10Norm},
		{BatchSize: 25, Norm: CIFAR100Norm},
	} {
		t.Run(fmt.Sprintf("batch%d_drop%v_aug%v", cfg.BatchSize, cfg.DropLast, cfg.Augment), func(t *testing.T) {
			var runs [][]batchCopy
			for _, w := range []int{1, 4} {
				cfg.Workers = w
				l := NewLoader(ds, cfg)
				var all []batchCopy
				for e := range 2 {
					all = append(all, epochBatches(t, l, e, 0)...)
				}
				l.Close()
				runs = append(runs, all)
			}
			sameBatches(t, runs[1], runs[0])
			want := 2 * (ds.N / cfg.BatchSize)
			if !cfg.DropLast && ds.N%cfg.BatchSize != 0 {
				want += 2
			}
			if len(runs[0]) != want {
				t.Errorf("%d batches in 2 epochs, want %d", len(runs[0]), want)
			}
		})
	}
}

func TestLoaderResume(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 50, 8, 8, 10)
	cfg := LoaderConfig{BatchSize: 8, Shuffle: true, Augment: true, Seed: 3, Norm: CIFAR10Norm, Workers: 2}
	l := NewLoader(ds, cfg)
	defer l.Close()
	full := epochBatches(t, l, 5, 0)
	for _, from := range []int{0, 1, 4, 6, 7} {
		// A fresh loader, as in a resumed run, and one stopped mid-epoch.
		fresh := NewLoader(ds, cfg)
		sameBatches(t, epochBatches(t, fresh, 5, from), full[from:])
		fresh.Close()
		l.StartEpoch(2)
		l.Next()
		sameBatches(t, epochBatches(t, l, 5, from), full[from:])
	}
}

func TestLoaderOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 40, 2, 2, 40)
	for i := range ds.Labels {
		ds.Labels[i] = int32(i) // a label names its image
	}
	order := func(seed uint64, epoch int, shuffle bool) []float32 {
		l := NewLoader(ds, LoaderConfig{BatchSize: 7, Shuffle: shuffle, Seed: seed, Norm: CIFAR10Norm})
		defer l.Close()
		var ys []float32
		for _, b := range epochBatches(t, l, epoch, 0) {
			ys = append(ys, b.y...)
		}
		return ys
	}
	plain := order(1, 0, false)
	for i, y := range plain {
		if y != float32(i) {
			t.Fatalf("unshuffled position %d has image %v", i, y)
		}
	}
	a, b, c := order(1, 0, true), order(1, 1, true), order(2, 0, true)
	if s := slices.Sorted(slices.Values(a)); !slices.Equal(s, plain) {
		t.Errorf("a shuffled epoch is not a permutation: %v", a)
	}
	if !slices.Equal(a, order(1, 0, true)) {
		t.Error("same seed and epoch gave another order")
	}
	if slices.Equal(a, b) || slices.Equal(a, c) || slices.Equal(a, plain) {
		t.Error("another epoch or seed gave the same order")
	}
}

// augmentNaive pads with black (byte 0), crops and flips the obvious way.
func augmentNaive(src []uint8, h, w int, d sampleDraw, t *normTable) []float32 {
	p := AugmentPad
	ph, pw := h+2*p, w+2*p
	padded := make([]uint8, 3*ph*pw)
	for c := range 3 {
		for y := range h {
			for x := range w {
				padded[(c*ph+y+p)*pw+x+p] = src[(c*h+y)*w+x]
			}
		}
	}
	out := make([]float32, 3*h*w)
	for c := range 3 {
		for y := range h {
			for x := range w {
				cx := x
				if d.flip {
					cx = w - 1 - x
				}
				out[(c*h+y)*w+x] = t.lut[c][padded[(c*ph+y+d.dy)*pw+cx+d.dx]]
			}
		}
	}
	return out
}

func TestAugment(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	table := newNormTable(CIFAR10Norm)
	for _, size := range [][2]int{{32, 32}, {5, 3}} {
		h, w := size[0], size[1]
		src := randomDataset(r, 1, h, w, 1).Images
		dst := make([]float32, 3*h*w)
		for dy := range 2*AugmentPad + 1 {
			for dx := range 2*AugmentPad + 1 {
				for _, flip := range []bool{false, true} {
					d := sampleDraw{dy, dx, flip}
					augmentInto(dst, src, h, w, d, table, PadBlack)
					if want := augmentNaive(src, h, w, d, table); !slices.Equal(dst, want) {
						t.Fatalf("%dx%d draw %+v: differs from the naive crop", h, w, d)
					}
				}
			}
		}
	}
	// The centre crop without flip is plain normalisation.
	src := randomDataset(r, 1, 4, 4, 1).Images
	a, b := make([]float32, 48), make([]float32, 48)
	augmentInto(a, src, 4, 4, sampleDraw{AugmentPad, AugmentPad, false}, table, PadZero)
	normalizeInto(b, src, table)
	if !slices.Equal(a, b) {
		t.Error("centre crop differs from normalisation")
	}
	if want := (float32(src[17])/255 - 0.4822) / 0.2435; b[17] != want {
		t.Errorf("normalised green pixel %v, want %v", b[17], want)
	}
}

func TestDrawsCoverAllCrops(t *testing.T) {
	seen := make(map[sampleDraw]int)
	for pos := range 20000 {
		seen[drawFor(9, 3, pos)]++
	}
	if len(seen) != 2*9*9 {
		t.Fatalf("%d distinct draws, want %d", len(seen), 2*9*9)
	}
	for d, n := range seen {
		if n < 20000/162/2 { // expected ≈123 each
			t.Errorf("draw %+v seen %d times in 20000", d, n)
		}
	}
	if drawFor(9, 3, 5) == drawFor(9, 4, 5) && drawFor(9, 3, 6) == drawFor(9, 4, 6) {
		t.Error("draws do not depend on the epoch")
	}
}

func TestLoaderCloseStopsGoroutines(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 200, 8, 8, 10)
	before := runtime.NumGoroutine()
	for range 3 {
		l := NewLoader(ds, LoaderConfig{BatchSize: 4, Shuffle: true, Augment: true, Norm: CIFAR10Norm, Workers: 3})
		l.StartEpoch(0)
		l.Next() // the rest of the epoch is still queued or in preparation
		l.Close()
		l.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

func TestLoaderMisuse(t *testing.T) {
	ds := randomDataset(rand.New(rand.NewPCG(1, 2)), 4, 2, 2, 2)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"zero batch", func() { NewLoader(ds, LoaderConfig{Norm: CIFAR10Norm}) }},
		{"zero std", func() { NewLoader(ds, LoaderConfig{BatchSize: 2}) }},
		{"next before start", func() { NewLoader(ds, LoaderConfig{BatchSize: 2, Norm: CIFAR10Norm}).Next() }},
		{"start past end", func() { NewLoader(ds, LoaderConfig{BatchSize: 2, Norm: CIFAR10Norm}).StartEpochAt(0, 3) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Error("no panic")
				}
			}()
			tc.f()
		})
	}
}

// BenchmarkLoader measures the loader alone on a synthetic CIFAR-sized
// training set: batch 128, shuffled, augmented and normalised.
func BenchmarkLoader(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := randomDataset(r, 50000, 32, 32, 10)
	for _, bc := range []struct {
		name    string
		augment bool
	}{{"cifar_augment", true}, {"cifar_plain", false}} {
		b.Run(bc.name, func(b *testing.B) {
			l := NewLoader(ds, LoaderConfig{BatchSize: 128, Shuffle: true, Augment: bc.augment, DropLast: true, Seed: 1, Norm: CIFAR10Norm})
			defer l.Close()
			epoch, images := 0, 0
			l.StartEpoch(epoch)
			b.ResetTimer()
			for b.Loop() {
				batch, ok := l.Next()
				if !ok {
					epoch++
					l.StartEpoch(epoch)
					batch, _ = l.Next()
				}
				images += batch.N
			}
			b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

func TestLoaderNoAllocations(t *testing.T) {
	ds := randomDataset(rand.New(rand.NewPCG(1, 2)), 200, 4, 4, 10)
	l := NewLoader(ds, LoaderConfig{BatchSize: 1, Shuffle: true, Augment: true, Norm: CIFAR10Norm, Workers: 2})
	defer l.Close()
	l.StartEpoch(0)
	l.Next()
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := l.Next(); !ok {
			t.Fatal("epoch ended early")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch, want 0", allocs)
	}
}
