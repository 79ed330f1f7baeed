package models

import (
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/internal/replay"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opcount"
)

// branchCases are the stochastic-depth networks a captured step must get
// exactly right: every stochastic-depth case of the gradient check (option
// A and B shortcuts, pre-activation, WRN, RoR) and every Table 2 unit, whose
// after-addition activations make a dropped unit pass its input through
// (original), or not (BN after addition).
func branchCases() []gradCase {
	var cases []gradCase
	for _, tc := range gradCases() {
		if tc.adjust == nil {
			continue
		}
		c := Config{SD: SDOff}
		tc.adjust(&c)
		if c.SD != SDOff {
			cases = append(cases, tc)
		}
	}
	for _, v := range UnitVariants {
		cases = append(cases, gradCase{name: "sd/table2/" + string(v), model: "resnet-14", adjust: func(c *Config) {
			c.Unit, c.SD, c.SDPL = v, SDLinear, 0.5
		}})
	}
	return cases
}

// TestCapturedStochasticDepthIsExact captures one training step of each
// branchCases network with every unit's two forms recorded
// (layers.Env.Branch, on internal/replay's capture semantics over the CPU
// reference) and launches it over several steps whose masks change, beside
// the same network run eagerly with the same masks. Losses, gradients,
// weights and BN statistics must be bitwise equal at every step, in every
// recompute mode.
func TestCapturedStochasticDepthIsExact(t *testing.T) {
	for _, tc := range branchCases() {
		for _, mode := range recomputeModes {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				cfg := mustParse(t, tc.model)
				tc.adjust(&cfg)
				const n, size, steps = 4, 8, 4
				cpu := cpuref.New(0)
				rb := replay.New(cpuref.New(0))
				eager := newRecomputing(t, cfg, cpu, mode, n, size)
				graphed := newRecomputing(t, cfg, rb, mode, n, size)
				for _, net := range []*Network{eager, graphed} {
					net.SetTraining(true)
				}
				ebt := randomBatch(t, cpu, rand.New(rand.NewPCG(7, 8)), n, size, cfg.Classes)
				gbt := randomBatch(t, rb, rand.New(rand.NewPCG(7, 8)), n, size, cfg.Classes)
				mask, err := rb.Alloc(len(graphed.Units))
				if err != nil {
					t.Fatal(err)
				}
				graphed.Env.Mask = mask
				g := captureStep(t, rb, graphed, gbt)
				if rb.Branches != 2*countDroppable(graphed) {
					t.Fatalf("%d branches recorded, want two (forward, backward) per droppable unit: %d", rb.Branches, 2*countDroppable(graphed))
				}
				r := rand.New(rand.NewPCG(3, 4))
				host := make([]float32, len(graphed.Units))
				kept := map[bool]bool{}
				for s := 0; s < steps; s++ {
					seed := r.Uint64()
					for _, net := range []*Network{eager, graphed} {
						if tc.mask != nil {
							for j, u := range net.Units {
								u.Active = tc.mask(j+s) || u.Survival >= 1
							}
						} else {
							net.DrawDepth(rand.New(rand.NewPCG(seed, 1)))
						}
					}
					for _, u := range eager.Units {
						if u.Survival < 1 {
							kept[u.Active] = true
						}
					}
					meanLoss(t, eager, ebt, true)
					eager.Backward()
					eager.Step(sgd)
					graphed.MaskInto(host)
					rb.CopyIn(mask, host)
					g.Launch()
					sameOn(t, s, "losses", download(t, cpu, eager.Losses()), download(t, rb, graphed.Losses()))
					sameOn(t, s, "gradients", download(t, cpu, eager.Params.Grads()), download(t, rb, graphed.Params.Grads()))
					sameOn(t, s, "weights", download(t, cpu, eager.Params.Values()), download(t, rb, graphed.Params.Values()))
					sameOn(t, s, "momentum", download(t, cpu, eager.Momentum()), download(t, rb, graphed.Momentum()))
					for j, buf := range eager.Params.Buffers {
						sameOn(t, s, buf.Name, download(t, cpu, buf.Value), download(t, rb, graphed.Params.Buffers[j].Value))
					}
				}
				if !kept[true] || !kept[false] {
					t.Fatalf("the masks never both kept and dropped a unit (%v): nothing was compared", kept)
				}
			})
		}
	}
}

// captureStep records one training step of net on rb with its droppable
// units branched.
func captureStep(t *testing.T, rb *replay.Backend, net *Network, bt batch) ops.Graph {
	t.Helper()
	if err := rb.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	net.Env.Branch = rb
	net.Forward(bt.x)
	net.Loss(bt.labels, true)
	net.Backward()
	net.Step(sgd)
	net.Env.Branch = nil
	g, err := rb.EndCapture()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func countDroppable(net *Network) int {
	k := 0
	for _, u := range net.Units {
		if u.Survival < 1 {
			k++
		}
	}
	return k
}

func sameOn(t *testing.T, step int, what string, eager, graphed []float32) {
	t.Helper()
	for i := range eager {
		if eager[i] != graphed[i] {
			t.Fatalf("step %d: %s differ at %d: %v eager, %v from the captured step", step, what, i, eager[i], graphed[i])
		}
	}
}

// TestCaptureRunsNothing: while a step is captured (stochastic depth's
// branches included) no op reaches the backend: internal/replay records
// every compute op, which is what lets the test above stand for a GPU's
// capture. A new op that replay forgot would run here and fail.
func TestCaptureRunsNothing(t *testing.T) {
	cfg := mustParse(t, "preact-resnet-14")
	cfg.SD, cfg.SDPL, cfg.RoR = SDLinear, 0.5, 3
	ob := opcount.New(cpuref.New(0))
	rb := replay.New(ob)
	net := newRecomputing(t, cfg, rb, layers.RecomputeUnit, 2, 8)
	net.SetTraining(true)
	bt := randomBatch(t, rb, rand.New(rand.NewPCG(1, 2)), 2, 8, cfg.Classes)
	mask, err := rb.Alloc(len(net.Units))
	if err != nil {
		t.Fatal(err)
	}
	net.Env.Mask = mask
	ob.Reset()
	g := captureStep(t, rb, net, bt)
	for op, k := range ob.Counts {
		if op != "View" && k > 0 {
			t.Errorf("%s reached the backend %d times during the capture", op, k)
		}
	}
	host := make([]float32, len(net.Units))
	net.MaskInto(host)
	rb.CopyIn(mask, host)
	ob.Reset()
	g.Launch()
	if ob.Counts["ConvForward"] == 0 {
		t.Error("the launch ran no convolution")
	}
}

// TestRehearseLeavesNoTrace: Rehearse runs every unit's convolutions
// (whatever the step's draw) and changes nothing a step then computes:
// a network that rehearsed trains bitwise as its twin that did not.
func TestRehearseLeavesNoTrace(t *testing.T) {
	cfg := mustParse(t, "preact-resnet-14")
	cfg.SD, cfg.SDPL = SDLinear, 0.5
	for _, mode := range recomputeModes {
		ob := opcount.New(cpuref.New(0))
		twin := newRecomputing(t, cfg, cpuref.New(0), mode, 4, 8)
		net := newRecomputing(t, cfg, ob, mode, 4, 8)
		bt := randomBatch(t, ob, rand.New(rand.NewPCG(1, 2)), 4, 8, cfg.Classes)
		tbt := randomBatch(t, twin.Env.B, rand.New(rand.NewPCG(1, 2)), 4, 8, cfg.Classes)
		for s, n := range []*Network{net, twin} {
			n.SetTraining(true)
			n.Env.DropoutSeed = 5
			n.DrawDepth(rand.New(rand.NewPCG(9, 9)))
			if s == 0 && n.Units[len(n.Units)-1].Active {
				t.Fatal("the draw keeps the last unit: pick another seed, or nothing is rehearsed")
			}
		}
		ob.Reset()
		net.Rehearse(bt.x, bt.labels)
		// the stem's conv and two per unit, forward; more when recomputing
		if got, want := ob.Counts["ConvForward"], 1+2*len(net.Units); got < want {
			t.Fatalf("%v: Rehearse ran %d convolutions forward, want at least %d (every unit kept)", mode, got, want)
		}
		if net.Env.DropoutSeed != 5 || net.Env.FreezeStats || net.Units[len(net.Units)-1].Active {
			t.Fatalf("%v: Rehearse left seed %d, frozen %v, last unit active %v", mode, net.Env.DropoutSeed, net.Env.FreezeStats, net.Units[len(net.Units)-1].Active)
		}
		for _, n := range []*Network{net, twin} {
			b := bt
			if n == twin {
				b = tbt
			}
			meanLoss(t, n, b, true)
			n.Backward()
			n.Step(sgd)
		}
		sameOn(t, 0, "weights", download(t, twin.Env.B, twin.Params.Values()), download(t, ob, net.Params.Values()))
		for j, buf := range twin.Params.Buffers {
			sameOn(t, 0, buf.Name, download(t, twin.Env.B, buf.Value), download(t, ob, net.Params.Buffers[j].Value))
		}
	}
}
