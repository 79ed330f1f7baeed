package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
)

// ErrInterrupted is returned when the context is cancelled (SIGINT or
// SIGTERM in the CLI): the step in flight finished and last.safetensors
// holds the exact position, so `deepres train --resume` continues.
var ErrInterrupted = errors.New("training interrupted; checkpoint written")

// Progress is reported after every step.
type Progress struct {
	Epoch, Epochs, Batch, Batches, Step, Steps int
	Loss, Accuracy, LR, ImagesPerSec           float64
	// HaveStats says whether Loss and Accuracy hold anything yet: the
	// statistics of an epoch's first steps wait on the device for a while.
	HaveStats bool
}

// Trainer owns one run: network, data and optimiser state.
type Trainer struct {
	Cfg              Config
	Net              *models.Network
	Train, Val, Test *data.Dataset
	Norm             data.Normalization
	// Progress, if set, is called after every step; Logf, if set, receives
	// one line per epoch and notes. Neither may block for long.
	Progress func(Progress)
	Logf     func(format string, args ...any)
	// Command is the command line that started the run, recorded in the
	// metrics header so that a folder left without a checkpoint can say how
	// to start it again.
	Command []string
	// Owner, if set, is called before every write into the run folder
	// and stops the run with its error: RunLock.Check, so that a run whose
	// folder was deleted and reused by another never writes over that
	// run's files.
	Owner func() error
	// Fault, if set, is called at named points of an epoch's end ("metrics",
	// "metrics-synced", "best", "last"): crash tests kill the process there
	// (DEEPRES_TEST_KILL in cmd/deepres).
	Fault func(point string)

	b           ops.Backend
	pcg         *rand.PCG
	rng         *rand.Rand
	pos         position
	x, labels   ops.Tensor
	stats       ops.Tensor // per pending step: loss sum, correct sum, Σ|∂L/∂conv1|
	pending     int        // steps whose stats are not yet downloaded
	seenPending int        // images in those steps
	lastFlush   time.Time
	statsHost   [statsRing * 3]float32
	perEpoch    int
	totalSteps  int
	lastGood    int // step of the run folder's last.safetensors; -1: none
	gs          graphStep
	launches    int    // steps run as one graph launch
	graphNote   string // why steps are not captured, said once when the run starts
	resumeNote  string // what Resume changed in the run folder, said when the run starts
}

// New builds the network on b for cfg and allocates everything a step
// needs. Weights are initialised from cfg.Seed; call LoadInit or Resume to
// start elsewhere.
func New(cfg Config, b ops.Backend, trainDS, valDS, testDS *data.Dataset, norm data.Normalization) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, ds := range []*data.Dataset{trainDS, valDS, testDS} {
		if ds != nil && (ds.H != 32 || ds.W != 32) {
			return nil, fmt.Errorf("dataset %s has %dx%d images; the CIFAR networks take 32x32", ds.Name, ds.H, ds.W)
		}
	}
	if trainDS == nil || trainDS.N == 0 {
		return nil, errors.New("no training images")
	}
	if n := len(trainDS.Classes); n != cfg.Model.Classes {
		return nil, fmt.Errorf("dataset %s has %d classes but the model is built for %d", trainDS.Name, n, cfg.Model.Classes)
	}
	total, err := cfg.TotalSteps(StepsPerEpoch(trainDS.N, cfg.BatchSize))
	if err != nil {
		return nil, err
	}
	t := &Trainer{Cfg: cfg, Train: trainDS, Val: valDS, Test: testDS, Norm: norm, b: b, totalSteps: total}
	layout, _ := LayoutOf(cfg.Layout) // Validate checked it
	// The images are laid out like the activations, as a channels_last
	// PyTorch model is given channels_last input, so that the first conv
	// reads and writes one layout.
	if t.x, err = ops.AllocLayout(b, ops.Float32, layout, cfg.BatchSize, 3, 32, 32); err == nil {
		if t.labels, err = b.Alloc(cfg.BatchSize); err == nil {
			t.stats, err = b.Alloc(statsRing, 3)
		}
	}
	if err != nil {
		err = fmt.Errorf("allocate input buffers: %w", err)
	} else {
		act, _ := StorageOf(cfg.Precision) // Validate checked it
		t.Net, err = models.BuildIn(cfg.Model, b, cfg.BatchSize, cfg.Recompute, cfg.Fused(), act, layout)
	}
	if err != nil {
		t.Close()
		return nil, err
	}
	net := t.Net
	net.Init(cfg.Seed)
	net.Env.DropoutSeed = cfg.Seed * 0x9E3779B97F4A7C15
	t.pcg = rand.NewPCG(cfg.Seed, 0x5344) // the run's RNG: stochastic-depth draws
	t.rng = rand.New(t.pcg)
	t.pos.Best = jsonFloat(math.Inf(1))
	t.lastGood = -1
	t.perEpoch = StepsPerEpoch(trainDS.N, cfg.BatchSize)
	if err := t.setupGraphs(cfg.Graphs, cfg.Model); err != nil {
		t.Close()
		return nil, err
	}
	return t, b.Sync()
}

// Close releases the run's device memory (network, optimiser, input
// buffers); the backend stays open. Idempotent.
func (t *Trainer) Close() {
	t.closeGraphs()
	for _, x := range []ops.Tensor{t.x, t.labels, t.stats} {
		t.b.Free(x)
	}
	t.x, t.labels, t.stats = nil, nil, nil
	if t.Net != nil {
		t.Net.Close()
	}
}

// Resume continues the run saved in dir.
func (t *Trainer) Resume(dir string) error { return t.resume(dir) }

// Position is the number of steps done.
func (t *Trainer) Position() int { return t.pos.Step }

// TotalSteps is the length of the run in iterations.
func (t *Trainer) TotalSteps() int { return t.totalSteps }

func (t *Trainer) fault(point string) {
	if t.Fault != nil {
		t.Fault(point)
	}
}

func (t *Trainer) logf(format string, args ...any) {
	if t.Logf != nil {
		t.Logf(format, args...)
	}
}

// Run trains until the last step, writing metrics and checkpoints into
// Cfg.Out. It returns ErrInterrupted when ctx is cancelled, and an error
// that is ErrDiverged when the loss or the weights stop being finite
// (nothing non-finite is written, so the checkpoints keep the last good
// state).
func (t *Trainer) Run(ctx context.Context) error {
	cfg := t.Cfg
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return fmt.Errorf("create run folder: %w", err)
	}
	if t.pos.Step == 0 {
		if err := t.owns(); err != nil {
			return err
		}
		if err := writeRunHeader(cfg, t.Command); err != nil {
			return err
		}
	}
	for _, note := range []*string{&t.graphNote, &t.resumeNote} {
		if *note != "" {
			t.logf("%s", *note)
			*note = ""
		}
	}
	pad := cfg.Pad
	if pad == "" {
		pad = data.PadBlack // a run recorded before Config.Pad existed padded so
	}
	loader := data.NewLoader(t.Train, data.LoaderConfig{BatchSize: cfg.BatchSize, Shuffle: cfg.Shuffle, Augment: cfg.Augment,
		Pad: pad, Seed: cfg.Seed, Norm: t.Norm, Workers: cfg.Workers})
	defer loader.Close()
	epochs := (t.totalSteps + t.perEpoch - 1) / t.perEpoch
	for t.pos.Step < t.totalSteps {
		start := time.Now()
		startStep, startSeen := t.pos.Step, t.pos.Seen
		loader.StartEpochAt(t.pos.Epoch, t.pos.Batch)
		for t.pos.Step < t.totalSteps {
			bt, ok := loader.Next()
			if !ok {
				break
			}
			lr := cfg.Schedule.LR(cfg.LR, t.pos.Step, t.totalSteps, t.perEpoch, cfg.WarmupSteps, cfg.WarmupLR)
			if err := t.step(bt, lr); err != nil {
				return err
			}
			t.pos.Batch = bt.Index + 1
			if t.Progress != nil {
				// Loss and accuracy are those of the steps downloaded so far.
				p := Progress{Epoch: t.pos.Epoch + 1, Epochs: epochs, Batch: t.pos.Batch, Batches: t.perEpoch,
					Step: t.pos.Step, Steps: t.totalSteps, LR: lr}
				if t.pos.Seen > 0 {
					p.Loss, p.Accuracy = t.pos.LossSum/float64(t.pos.Seen), t.pos.CorrectSum/float64(t.pos.Seen)
					p.HaveStats = true
				}
				seen := t.pos.Seen + t.seenPending - startSeen
				p.ImagesPerSec = float64(seen) / time.Since(start).Seconds()
				t.Progress(p)
			}
			if ctx.Err() != nil {
				if err := t.flush(); err != nil {
					return err
				}
				if err := t.save(filepath.Join(cfg.Out, "last.safetensors")); err != nil {
					return fmt.Errorf("interrupted, and the checkpoint failed: %w", err)
				}
				return ErrInterrupted
			}
		}
		if err := t.flush(); err != nil {
			return err
		}
		elapsed := time.Since(start).Seconds()
		lr := cfg.Schedule.LR(cfg.LR, t.pos.Step-1, t.totalSteps, t.perEpoch, cfg.WarmupSteps, cfg.WarmupLR)
		if err := t.endEpoch(float64(t.pos.Seen-startSeen)/elapsed, lr, t.pos.Step-startStep); err != nil {
			return err
		}
	}
	return t.save(filepath.Join(cfg.Out, "last.safetensors"))
}

// step runs one training iteration on a batch.
func (t *Trainer) step(bt data.Batch, lr float64) error {
	b, net, n := t.b, t.Net, bt.N
	x := b.View(t.x, 0, n, 3, 32, 32)
	labels := b.View(t.labels, 0, n)
	b.CopyIn(x, bt.X.Data().([]float32))
	b.CopyIn(labels, bt.Labels.Data().([]float32))
	net.SetTraining(true)
	net.DrawDepth(t.rng)
	t.uploadSeedBase()
	sgd := ops.SGDParams{LR: float32(lr), Momentum: float32(t.Cfg.Momentum), WeightDecay: float32(t.Cfg.WD), Nesterov: t.Cfg.Nesterov}
	// Each step's statistics stay on the device; flush downloads them in
	// one copy every statsRing steps (or every half second, so a slow CPU
	// run still shows progress): a sync per step would stall a GPU.
	graphed, err := t.launchStep(x, labels, n, lr, sgd)
	if err != nil {
		return err
	}
	if !graphed {
		t.compute(x, labels, sgd, func(j int) ops.Tensor { return b.View(t.stats, t.pending*3+j, 1) })
	}
	t.pending++
	t.pos.Step++
	t.seenPending += n
	if t.pending == statsRing || time.Since(t.lastFlush) > 500*time.Millisecond {
		return t.flush()
	}
	return nil
}

// compute queues one step's work: forward, loss, backward, SGD update, and
// the step's statistics into row(0..2) (loss sum, correct sum, Σ|∂L/∂conv1|,
// the SD paper's Fig. 7). The same code is captured by launchStep.
func (t *Trainer) compute(x, labels ops.Tensor, sgd ops.SGDParams, row func(int) ops.Tensor) {
	Compute(t.b, t.Net, x, labels, sgd, row)
}

// Compute is the trainer's step on b (net's backend): what Trainer.compute
// queues, exported so that the bytes of a step are counted on the very
// step the trainer runs (CountStepBytes).
func Compute(b ops.Backend, net *models.Network, x, labels ops.Tensor, sgd ops.SGDParams, row func(int) ops.Tensor) {
	net.Forward(x)
	net.Loss(labels, true)
	net.Backward()
	net.Step(sgd)
	b.Reduce(row(0), net.Losses(), ops.ReduceSum)
	b.Reduce(row(1), net.Correct(), ops.ReduceSum)
	b.Reduce(row(2), net.Params.Params[0].Grad, ops.ReduceSumAbs)
}

// statsRing is how many steps' statistics wait on the device for one download.
const statsRing = 16

// flush downloads the pending steps' statistics, checks every loss and adds
// them to the epoch's sums in step order.
func (t *Trainer) flush() error {
	if t.pending == 0 {
		return nil
	}
	host := t.statsHost[:t.pending*3]
	if err := t.b.CopyOut(host, t.b.View(t.stats, 0, t.pending*3)); err != nil {
		return fmt.Errorf("step %d: %w", t.pos.Step, err)
	}
	first := t.pos.Step - t.pending + 1
	conv1 := float64(t.Net.Params.Params[0].Shape.Len())
	for i := 0; i < t.pending; i++ {
		loss := host[3*i]
		if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
			t.pos.Step = first + i
			return t.diverged(fmt.Sprintf("the loss became %v", loss))
		}
		t.pos.LossSum += float64(loss)
		t.pos.CorrectSum += float64(host[3*i+1])
		g := float64(host[3*i+2])
		if t.Net.LossScale != nil && (math.IsNaN(g) || math.IsInf(g, 0)) {
			continue // a float16 step skipped for an overflow (models.LossScale): no gradient to report
		}
		t.pos.GradAbsSum += g / conv1
		t.pos.GradSteps++
	}
	t.pos.Seen += t.seenPending
	t.pending, t.seenPending = 0, 0
	t.lastFlush = time.Now()
	return nil
}

// Metrics is one line of metrics.jsonl.
type Metrics struct {
	Epoch          int      `json:"epoch"`
	Step           int      `json:"step"`
	LR             float64  `json:"lr"`
	TrainLoss      float64  `json:"train_loss"`
	TrainError     float64  `json:"train_error"`
	TestLoss       *float64 `json:"test_loss,omitempty"`
	TestError      *float64 `json:"test_error,omitempty"`
	ValLoss        *float64 `json:"val_loss,omitempty"`
	ValError       *float64 `json:"val_error,omitempty"`
	ImagesPerSec   float64  `json:"img_per_s"`
	Seconds        float64  `json:"seconds"`
	ExpectedDepth  float64  `json:"expected_depth"`
	FirstConvGrad  float64  `json:"first_conv_grad_mean_abs"`
	CheckpointBest bool     `json:"best,omitempty"`
	// Overrides are the --override changes that took effect in this epoch.
	Overrides []Override `json:"overrides,omitempty"`
}

func (t *Trainer) endEpoch(imgPerSec, lr float64, steps int) error {
	cfg, p := t.Cfg, &t.pos
	m := Metrics{Epoch: p.Epoch + 1, Step: p.Step, LR: lr, TrainLoss: p.LossSum / float64(p.Seen),
		TrainError: 1 - p.CorrectSum/float64(p.Seen), ImagesPerSec: imgPerSec, ExpectedDepth: t.Net.ExpectedDepth(),
		FirstConvGrad: p.GradAbsSum / float64(max(p.GradSteps, 1))}
	if steps > 0 && imgPerSec > 0 {
		m.Seconds = float64(p.Seen) / imgPerSec
	}
	for _, o := range cfg.Overrides {
		if o.Step >= p.Step-steps && o.Step < p.Step {
			m.Overrides = append(m.Overrides, o)
		}
	}
	if math.IsNaN(m.TrainLoss) || math.IsInf(m.TrainLoss, 0) {
		return t.diverged(fmt.Sprintf("the epoch's training loss became %v", m.TrainLoss))
	}
	if err := t.checkWeights(); err != nil {
		return err
	}
	watch := math.NaN()
	if t.Test != nil {
		loss, acc, err := Evaluate(t.Net, t.Test, t.Norm, cfg.BatchSize)
		if err != nil {
			return err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return t.diverged(fmt.Sprintf("the test loss became %v", loss))
		}
		e := 1 - acc
		m.TestLoss, m.TestError, watch = &loss, &e, e
	}
	if t.Val != nil {
		loss, acc, err := Evaluate(t.Net, t.Val, t.Norm, cfg.BatchSize)
		if err != nil {
			return err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return t.diverged(fmt.Sprintf("the validation loss became %v", loss))
		}
		e := 1 - acc
		m.ValLoss, m.ValError, watch = &loss, &e, e
	}
	// The next epoch starts from a clean position, so a checkpoint written
	// now resumes there.
	p.Epoch++
	p.Batch, p.LossSum, p.CorrectSum, p.GradAbsSum, p.Seen, p.GradSteps = 0, 0, 0, 0, 0, 0
	best := !math.IsNaN(watch) && watch < float64(p.Best)
	m.CheckpointBest = best
	line, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("metrics of epoch %d: %w", m.Epoch, err)
	}
	// The log first, synced, then the checkpoints that cover the epoch: a
	// kill or a full disk between the two leaves a line ahead of the
	// checkpoint, which a resume cuts and writes again identically, never
	// a checkpoint ahead of the log, whose line would be lost for good.
	t.fault("metrics")
	if err := t.owns(); err != nil {
		return err
	}
	if err := appendMetrics(cfg.Out, line); err != nil {
		return err
	}
	t.fault("metrics-synced")
	if best {
		p.Best = jsonFloat(watch)
		if err := t.save(filepath.Join(cfg.Out, "best.safetensors")); err != nil {
			return err
		}
		t.fault("best")
	}
	if cfg.CheckpointEvery > 0 && p.Epoch%cfg.CheckpointEvery == 0 {
		if err := t.save(filepath.Join(cfg.Out, "last.safetensors")); err != nil {
			return err
		}
		t.fault("last")
	}
	msg := fmt.Sprintf("epoch %d/%d  step %d  lr %.4g  train loss %.4f err %.2f%%", m.Epoch, (t.totalSteps+t.perEpoch-1)/t.perEpoch, m.Step, lr, m.TrainLoss, 100*m.TrainError)
	if m.TestError != nil {
		msg += fmt.Sprintf("  test loss %.4f err %.2f%%", *m.TestLoss, 100**m.TestError)
	}
	if m.ValError != nil {
		msg += fmt.Sprintf("  val err %.2f%%", 100**m.ValError)
	}
	t.logf("%s  %.0f img/s", msg, imgPerSec)
	return nil
}

// owns is Owner's answer, nil without one.
func (t *Trainer) owns() error {
	if t.Owner == nil {
		return nil
	}
	return t.Owner()
}
