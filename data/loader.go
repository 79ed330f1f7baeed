package data

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	"gorgonia.org/tensor"
)

// LoaderConfig says how a Loader makes batches.
type LoaderConfig struct {
	BatchSize int
	Shuffle   bool    // a new seeded permutation every epoch
	Augment   bool    // "+" augmentation: pad 4, random crop, horizontal flip
	Pad       PadMode // what the augmentation pads with ("": PadZero)
	DropLast  bool    // drop the last batch when it is not full
	Seed      uint64
	Norm      Normalization // every Std must be positive
	Workers   int           // goroutines preparing batches; 0: GOMAXPROCS
	Prefetch  int           // batches prepared ahead of the consumer; 0: 4
}

// Batch is one mini-batch: X (N,3,H,W) float32 normalised images and
// Labels (N) float32 class indices, both *tensor.Dense over []float32.
// Index is the batch's position in its epoch.
type Batch struct {
	X, Labels *tensor.Dense
	N, Index  int
}

// Loader turns a Dataset into batches. Worker goroutines decode and augment
// batches ahead of the consumer, yet every batch depends only on (Seed,
// epoch, batch index): the epoch's permutation comes from (Seed, epoch), and
// each sample's crop and flip from (Seed, epoch, position), so the output is
// bitwise the same for any number of workers and a run resumes exactly with
// StartEpochAt.
//
// A Loader is used by one goroutine. The batch returned by Next is valid
// until the next call of Next, StartEpoch, StartEpochAt or Close, when its
// buffers are reused.
type Loader struct {
	ds    *Dataset
	cfg   LoaderConfig
	table *normTable
	nb    int // batches per epoch
	bufs  []*batchBuf

	// The running epoch.
	epoch   int
	perm    []int
	free    chan *batchBuf
	order   chan *batchBuf // dispatched batches, in batch order
	stop    chan struct{}
	wg      sync.WaitGroup
	cur     *batchBuf // held by the consumer
	running bool
	closed  bool
}

// batchBuf is one reusable batch: its storage, tensor views over it and a
// signal that a worker has filled it.
type batchBuf struct {
	x, y       []float32
	full, tail Batch // tail: the short last batch, if any
	index, n   int
	ready      chan struct{}
}

// NewLoader returns a loader over ds; call StartEpoch before Next. It
// panics on a bad configuration.
func NewLoader(ds *Dataset, cfg LoaderConfig) *Loader {
	if cfg.BatchSize <= 0 {
		panic(fmt.Sprintf("data: batch size %d, want > 0", cfg.BatchSize))
	}
	for c, s := range cfg.Norm.Std {
		if !(s > 0) {
			panic(fmt.Sprintf("data: normalisation std[%d] = %v, want > 0", c, s))
		}
	}
	if cfg.Pad == "" {
		cfg.Pad = PadZero
	}
	if _, err := ParsePadMode(string(cfg.Pad)); err != nil {
		panic("data: " + err.Error())
	}
	if n := cfg.Norm.MeanImage; n != nil && len(n) != ds.ImageSize() {
		panic(fmt.Sprintf("data: mean image of %d values for %d-value images", len(n), ds.ImageSize()))
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 4
	}
	l := &Loader{ds: ds, cfg: cfg, table: newNormTable(cfg.Norm)}
	l.nb = ds.N / cfg.BatchSize
	tail := ds.N % cfg.BatchSize
	if tail > 0 && !cfg.DropLast {
		l.nb++
	}
	size := ds.ImageSize()
	b := cfg.BatchSize
	// Prefetch batches waiting or in preparation, plus the consumer's.
	for range max(cfg.Prefetch, cfg.Workers) + 1 {
		buf := &batchBuf{x: make([]float32, b*size), y: make([]float32, b), ready: make(chan struct{}, 1)}
		buf.full = Batch{
			X:      tensor.New(tensor.WithShape(b, 3, ds.H, ds.W), tensor.WithBacking(buf.x)),
			Labels: tensor.New(tensor.WithShape(b), tensor.WithBacking(buf.y)),
			N:      b,
		}
		if tail > 0 {
			buf.tail = Batch{
				X:      tensor.New(tensor.WithShape(tail, 3, ds.H, ds.W), tensor.WithBacking(buf.x[:tail*size])),
				Labels: tensor.New(tensor.WithShape(tail), tensor.WithBacking(buf.y[:tail])),
				N:      tail,
			}
		}
		l.bufs = append(l.bufs, buf)
	}
	return l
}

// NumBatches is the number of batches in an epoch.
func (l *Loader) NumBatches() int { return l.nb }

// StartEpoch starts epoch (counted from 0) at its first batch.
func (l *Loader) StartEpoch(epoch int) { l.StartEpochAt(epoch, 0) }

// StartEpochAt starts epoch at batch index batch (0 ≤ batch ≤ NumBatches),
// giving the batches an uninterrupted epoch would give from there on. Any
// batch still being prepared for the previous epoch is dropped.
func (l *Loader) StartEpochAt(epoch, batch int) {
	if l.closed {
		panic("data: StartEpochAt on a closed Loader")
	}
	if batch < 0 || batch > l.nb {
		panic(fmt.Sprintf("data: start batch %d out of range [0,%d]", batch, l.nb))
	}
	l.halt()
	l.epoch = epoch
	if l.cfg.Shuffle {
		l.perm = permutation(l.ds.N, rand.New(rand.NewPCG(l.cfg.Seed, uint64(epoch))))
	} else if l.perm == nil {
		l.perm = make([]int, l.ds.N)
		for i := range l.perm {
			l.perm[i] = i
		}
	}
	l.free = make(chan *batchBuf, len(l.bufs))
	for _, b := range l.bufs {
		l.free <- b
	}
	l.order = make(chan *batchBuf, len(l.bufs))
	l.stop = make(chan struct{})
	jobs := make(chan *batchBuf)
	l.running = true
	l.wg.Add(1 + l.cfg.Workers)
	go l.dispatch(batch, jobs, l.free, l.order, l.stop)
	for range l.cfg.Workers {
		go l.work(jobs)
	}
}

// dispatch hands the epoch's batches, in order, to the workers and to the
// consumer's queue, never more than there are free buffers.
func (l *Loader) dispatch(from int, jobs, free, order chan *batchBuf, stop chan struct{}) {
	defer l.wg.Done()
	defer close(jobs)
	defer close(order)
	for b := from; b < l.nb; b++ {
		var buf *batchBuf
		select {
		case buf = <-free:
		case <-stop:
			return
		}
		buf.index = b
		buf.n = min(l.cfg.BatchSize, l.ds.N-b*l.cfg.BatchSize)
		select {
		case jobs <- buf:
		case <-stop:
			return
		}
		order <- buf // never blocks: it has room for every buffer
	}
}

func (l *Loader) work(jobs chan *batchBuf) {
	defer l.wg.Done()
	for buf := range jobs {
		l.fill(buf)
		buf.ready <- struct{}{}
	}
}

// fill prepares batch buf.index of the running epoch.
func (l *Loader) fill(buf *batchBuf) {
	ds, size := l.ds, l.ds.ImageSize()
	first := buf.index * l.cfg.BatchSize
	for i := range buf.n {
		pos := first + i
		k := l.perm[pos]
		buf.y[i] = float32(ds.Labels[k])
		dst := buf.x[i*size : (i+1)*size]
		if l.cfg.Augment {
			augmentInto(dst, ds.Image(k), ds.H, ds.W, drawFor(l.cfg.Seed, l.epoch, pos), l.table, l.cfg.Pad)
		} else {
			normalizeInto(dst, ds.Image(k), l.table)
		}
	}
}

// Next returns the epoch's next batch, or false when the epoch is over.
// It panics before the first StartEpoch.
func (l *Loader) Next() (Batch, bool) {
	if !l.running {
		if l.closed {
			panic("data: Next on a closed Loader")
		}
		panic("data: Next before StartEpoch")
	}
	if l.cur != nil {
		l.free <- l.cur // never blocks: it has room for every buffer
		l.cur = nil
	}
	buf, ok := <-l.order
	if !ok {
		return Batch{}, false
	}
	<-buf.ready
	l.cur = buf
	if buf.n < l.cfg.BatchSize {
		buf.tail.Index = buf.index
		return buf.tail, true
	}
	buf.full.Index = buf.index
	return buf.full, true
}

// halt stops the running epoch's goroutines and waits for them.
func (l *Loader) halt() {
	if !l.running {
		return
	}
	close(l.stop)
	l.wg.Wait()
	for _, b := range l.bufs {
		select {
		case <-b.ready: // filled but never consumed
		default:
		}
	}
	l.cur = nil
	l.running = false
}

// Close stops the workers; it is idempotent. The Loader cannot be used
// afterwards.
func (l *Loader) Close() {
	l.halt()
	l.closed = true
}
