package gpu_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/gpu"
	"github.com/deepres/deepres/internal/gputest"
	"github.com/deepres/deepres/internal/runcheck"
	"github.com/deepres/deepres/internal/synth"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/train"
)

func openFP32(t *testing.T) *gpu.Backend {
	t.Helper()
	g, err := gpu.Open(0, gpu.Options{Math: gpu.FP32})
	if errors.Is(err, gpu.ErrLibraryNotFound) || errors.Is(err, gpu.ErrNoDevice) {
		gputest.Skip(t, "no NVIDIA GPU: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// Captured ops do not run at capture time; each launch runs them again,
// reading device memory (the learning rate of SGDParams.LRTensor) when it
// runs; what cannot be captured panics; a capture that fails leaves the
// backend working.
func TestCaptureReplays(t *testing.T) {
	g := openFP32(t)
	alloc := func(n int, v float32) ops.Tensor {
		x, err := g.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Free(x) })
		g.Fill(x, v)
		return x
	}
	w, dw, v, lr := alloc(4, 1), alloc(4, 0.5), alloc(4, 0), alloc(1, 0)
	y := alloc(4, 0)
	if err := g.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	g.AddTensor(y, dw, 1, 1) // y += 0.5
	g.SGDUpdate(w, dw, v, ops.SGDParams{LR: 99, LRTensor: lr})
	graph, err := g.EndCapture()
	if err != nil {
		t.Fatal(err)
	}
	defer graph.Close()
	if got := host(t, g, y); got[0] != 0 {
		t.Fatalf("y = %v right after capture: the captured op ran", got)
	}
	// Eager twin of the update, for bitwise comparison.
	we, ve := alloc(4, 1), alloc(4, 0)
	for i, rate := range []float32{0.1, 0.01, 0.3} {
		g.CopyIn(lr, []float32{rate})
		graph.Launch()
		g.SGDUpdate(we, dw, ve, ops.SGDParams{LR: rate})
		if got, want := host(t, g, y)[0], 0.5*float32(i+1); got != want {
			t.Fatalf("after %d launches y = %v, want %v", i+1, got, want)
		}
		if a, b := host(t, g, w), host(t, g, we); a[0] != b[0] || a[3] != b[3] {
			t.Fatalf("launch %d: w = %v, eager %v", i+1, a, b)
		}
	}

	// Alloc, CopyIn, CopyOut and Sync during a capture are misuse.
	for name, f := range map[string]func(){
		"Alloc":  func() { g.Alloc(4) },
		"CopyIn": func() { g.CopyIn(y, make([]float32, 4)) },
		"Sync":   func() { g.Sync() },
	} {
		if err := g.BeginCapture(); err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "during a capture") {
					t.Errorf("%s during a capture: recovered %v, want a panic", name, r)
				}
			}()
			f()
		}()
		gr, err := g.EndCapture()
		if err != nil {
			t.Fatalf("empty capture after refused %s: %v", name, err)
		}
		gr.Close()
	}

	// A convolution never seen before needs cuDNN's Find, which cannot be
	// captured: EndCapture fails, the backend does not.
	x, err := g.Alloc(2, 3, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free(x)
	k, _ := g.Alloc(4, 3, 3, 3)
	defer g.Free(k)
	out, _ := g.Alloc(2, 4, 8, 8)
	defer g.Free(out)
	p := ops.Conv(1, 1)
	if err := g.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	g.ConvForward(out, x, k, p)
	if gr, err := g.EndCapture(); err == nil {
		gr.Close()
		t.Fatal("a capture that needed cuDNN's Find succeeded")
	} else {
		t.Logf("expected: %v", err)
	}
	if err := g.Sync(); err != nil {
		t.Fatalf("a failed capture broke the backend: %v", err)
	}
	g.ConvForward(out, x, k, p)
	if err := g.Sync(); err != nil {
		t.Fatalf("eager convolution after a failed capture: %v", err)
	}
}

// TestGraphTrainingIsBitwiseEager trains the same run with --cuda-graphs on
// and off and requires bitwise the same weights, BN statistics, momentum
// and losses: the learning rate (warm-up, then a drop between two launched
// steps: graphRun) and the dropout masks change between launches (read
// from device memory), stochastic depth's unit masks
// change at every launch (conditional nodes), the epoch's short last batch
// runs eagerly between launches, and every recompute mode is captured.
// Under the simulator it also counts the graph launches (every full batch
// after the first) and the kernels run.
func TestGraphTrainingIsBitwiseEager(t *testing.T) {
	stats := filepath.Join(t.TempDir(), "stats.json")
	t.Setenv("CUDASIM_STATS", stats)
	g := openFP32(t)
	// Every case of TestTrainingMatchesCPU (stochastic depth with RoR, on
	// pre-activation units, with average-pool option A; dropout; a gate; each
	// in every recompute mode), and more.
	cases := trainingCases()
	for _, x := range []struct {
		name, model string
		set         func(*models.Config)
		recompute   layers.Recompute
	}{
		{"resnet-20/avgpool", "resnet-20", func(c *models.Config) { c.OptionA = models.OptionAAvgPool }, layers.StoreAll},
		{"wrn-10-2/dropout/ror3", "wrn-10-2", func(c *models.Config) { c.Dropout, c.RoR = 0.3, 3 }, layers.StoreAll},
		{"resnet-20/sd/projection-B", "resnet-20", func(c *models.Config) { c.SD, c.ProjectionB = models.SDLinear, true }, layers.StoreAll},
		{"preact-resnet-20/sd-uniform/recompute-unit", "preact-resnet-20", func(c *models.Config) { c.SD, c.SDPL = models.SDUniform, 0.5 }, layers.RecomputeUnit},
		{"resnet-20/bn-after-add/sd", "resnet-20", func(c *models.Config) { c.SD, c.Unit = models.SDLinear, models.BNAfterAdd }, layers.StoreAll},
	} {
		cases = append(cases, trainingCase{x.name, func(t *testing.T) models.Config {
			c, err := models.Parse(x.model)
			if err != nil {
				t.Fatal(err)
			}
			x.set(&c)
			return c
		}, x.recompute, false})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { graphMatchesEager(t, g, stats, tc.cfg(t), tc.recompute, tc.fuse) })
	}
}

// The graph-path bugs a CPU test in ./train also catches (a dropped unit's
// gradient left from the step before, the stochastic-depth masks uploaded
// after the launch, the learning rate frozen in the captured step), caught
// on the GPU side in seconds: one small network with stochastic depth
// (uniform, p_L = 0.5: units are dropped in launched steps), then with
// dropout (masks from a seed uploaded before each launch), whose launched
// steps run at three different rates.
func TestGraphStepFollowsRateAndMasks(t *testing.T) {
	stats := filepath.Join(t.TempDir(), "stats.json")
	t.Setenv("CUDASIM_STATS", stats)
	g := openFP32(t)
	for _, tc := range []struct {
		name string
		set  func(*models.Config)
	}{
		{"sd", func(c *models.Config) { c.SD, c.SDPL = models.SDUniform, 0.5 }},
		{"dropout", func(c *models.Config) { c.Dropout = 0.3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc, err := models.Parse("wrn-10-2")
			if err != nil {
				t.Fatal(err)
			}
			tc.set(&mc)
			graphMatchesEager(t, g, stats, mc, layers.StoreAll, false)
		})
	}
}

// graphRun is the training run both graph tests make: 40 samples in
// batches of 16, 16, 8 for 2 epochs, 6 steps, of which the graph run
// launches steps 1, 3 and 4 (the first step and the short batches run
// eagerly). Its rates: a warm-up of 2 steps at 0.03 (not base/10), then
// 0.1, multiplied by 0.2 from step 4 on: each launched step has its own
// rate, so a rate frozen at capture shows.
func graphRun(mc models.Config, recompute layers.Recompute, mode train.GraphMode, out string) train.Config {
	cfg := train.Default()
	cfg.Model, cfg.BatchSize, cfg.Epochs, cfg.Out, cfg.Workers = mc, 16, 2, out, 2
	cfg.LR, cfg.WarmupSteps, cfg.WarmupLR = 0.1, 2, 0.03
	cfg.Schedule = train.Schedule{Kind: "multistep", Steps: []int{4}, Factor: 0.2}
	cfg.Nesterov, cfg.Recompute, cfg.Graphs = true, recompute, mode
	return cfg
}

// graphLaunchedSteps are the steps graphRun's graph run launches.
var graphLaunchedSteps = []int{1, 3, 4}

// graphMatchesEager trains graphRun with CUDA graphs off and on and
// requires bitwise the same weights, BN statistics, momentum and losses.
func graphMatchesEager(t *testing.T, g *gpu.Backend, stats string, mc models.Config, recompute layers.Recompute, fuse bool) {
	t.Helper()
	graphMatchesEagerWith(t, g, stats, mc, recompute, fuse, nil)
}

// graphMatchesEagerWith is graphMatchesEager with adjust (unless nil)
// applied to both runs' configurations (a precision, a layout).
func graphMatchesEagerWith(t *testing.T, g *gpu.Backend, stats string, mc models.Config, recompute layers.Recompute, fuse bool, adjust func(*train.Config)) {
	t.Helper()
	trainDS := synth.Dataset(40, 3) // batches of 16, 16, 8
	norm := data.ComputeNormalization(trainDS)
	// The rates must really change between launches, or a frozen rate passes.
	c := graphRun(mc, recompute, train.GraphsOn, "")
	rates := map[float64]bool{}
	for _, step := range graphLaunchedSteps {
		rates[c.Schedule.LR(c.LR, step, 6, 3, c.WarmupSteps, c.WarmupLR)] = true
	}
	if len(rates) != len(graphLaunchedSteps) || rates[c.LR/10] {
		t.Fatalf("the launched steps %v run at rates %v: they must all differ, and the warm-up must not be base/10",
			graphLaunchedSteps, rates)
	}
	run := func(mode train.GraphMode) (dir string, c map[string]int64, launches int) {
		cfg := graphRun(mc, recompute, mode, t.TempDir())
		cfg.Fuse = &fuse
		if adjust != nil {
			adjust(&cfg)
		}
		tr, err := train.New(cfg, g, trainDS, nil, nil, norm)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		before, _ := deviceCounters(t, stats)
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := g.Sync(); err != nil {
			t.Fatal(err)
		}
		after, ok := deviceCounters(t, stats)
		if ok {
			c = map[string]int64{}
			for k, v := range after {
				c[k] = v - before[k]
			}
		}
		return cfg.Out, c, tr.GraphLaunches()
	}
	eagerDir, eagerC, eagerLaunches := run(train.GraphsOff)
	graphDir, graphC, launches := run(train.GraphsOn)
	// 6 steps: the first (warm-up) and the two short batches run eagerly.
	if eagerLaunches != 0 || launches != 3 {
		t.Fatalf("graph launches: eager run %d, graph run %d (want 0 and 3)", eagerLaunches, launches)
	}
	runcheck.SameCheckpoints(t, eagerDir, graphDir, "eager", "graph")
	ma, mb := readMetricsFile(t, eagerDir), readMetricsFile(t, graphDir)
	if len(ma) != 2 || len(mb) != 2 {
		t.Fatalf("%d and %d epochs of metrics, want 2", len(ma), len(mb))
	}
	for i := range ma {
		if ma[i].TrainLoss != mb[i].TrainLoss || ma[i].TrainError != mb[i].TrainError || ma[i].FirstConvGrad != mb[i].FirstConvGrad {
			t.Errorf("epoch %d: eager loss %v error %v grad %v, graph %v %v %v", i+1,
				ma[i].TrainLoss, ma[i].TrainError, ma[i].FirstConvGrad, mb[i].TrainLoss, mb[i].TrainError, mb[i].FirstConvGrad)
		}
	}
	if graphC == nil {
		return // a real GPU keeps no counters
	}
	if got := graphC["graph_launches"]; got != 3 {
		t.Errorf("the driver counted %d graph launches, want 3", got)
	}
	if eagerC["graph_launches"] != 0 {
		t.Errorf("the eager run launched %d graphs", eagerC["graph_launches"])
	}
	// The same work, but for cuDNN's algorithm searches: the first run
	// on the backend made them, the second found them cached.
	work := func(c map[string]int64) int64 {
		return c["kernels_run"] - c["cudnnFindConvolutionForwardAlgorithmEx"] -
			c["cudnnFindConvolutionBackwardDataAlgorithmEx"] - c["cudnnFindConvolutionBackwardFilterAlgorithmEx"]
	}
	extra := work(graphC) - work(eagerC)
	if mc.SD == models.SDOff && extra != 0 {
		t.Errorf("kernels run: graph %d, eager %d; want the same work", work(graphC), work(eagerC))
	}
	if mc.SD != models.SDOff {
		// The same units ran (same masks). The graph run adds one
		// rehearsal before its capture (models.Network.Rehearse: at
		// most two steps' kernels, 6 steps run), and at each of its 3
		// launches the kernel that sets the conditions and a copy per
		// dropped unit forward and back; TestGraphStepCallsOnDevice
		// counts a launch exactly.
		units := int64(mc.Depth) / 2
		if most := 2*work(eagerC)/6 + 3*(1+2*units); extra < 3 || extra > most {
			t.Errorf("kernels run: graph %d, eager %d; want between 3 and %d more", work(graphC), work(eagerC), most)
		}
		if graphC["conditional_taken"] == 0 {
			t.Errorf("conditional nodes: no body ran (%d skipped)", graphC["conditional_skipped"])
		}
	}
	t.Logf("host API calls over the run: eager %d, graph %d", eagerC["api_calls"], graphC["api_calls"])
}

func readMetricsFile(t *testing.T, dir string) []train.Metrics {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var ms []train.Metrics
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var m train.Metrics
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("metrics.jsonl: %v", err)
		}
		if m.Epoch > 0 { // the run header line has none
			ms = append(ms, m)
		}
	}
	return ms
}

// TestGraphStepCallsOnDevice: a captured step costs the host a handful of
// library calls whatever the depth (the uploads, the launch, the
// synchronisation), against hundreds eager, and runs the same kernels; with
// stochastic depth (conditional nodes) the same, plus the kernel that sets
// the conditions and a copy where a dropped unit eagerly returns its input.
// Counted by the simulator; on a real GPU it skips.
func TestGraphStepCallsOnDevice(t *testing.T) {
	stats := filepath.Join(t.TempDir(), "stats.json")
	t.Setenv("CUDASIM_STATS", stats)
	g := openFP32(t)
	for _, model := range []string{"resnet-20", "resnet-56", "resnet-56/sd", "resnet-56/sd/two-ifs"} {
		t.Run(model, func(t *testing.T) {
			// two-ifs: the form for drivers before CUDA 12.8, whose IF nodes
			// have no else body (an IF node per body).
			model, twoIfs := strings.CutSuffix(model, "/two-ifs")
			if twoIfs {
				defer gpu.SetIfElseFrom(1 << 30)()
			}
			name, sd := strings.CutSuffix(model, "/sd")
			cfg, err := models.Parse(name)
			if err != nil {
				t.Fatal(err)
			}
			if sd {
				cfg.SD, cfg.SDPL = models.SDLinear, 0.5
				if err := g.CanBranch(); err != nil {
					t.Fatal(err)
				}
			}
			const n, size = 2, 16
			net := trainingNet(t, cfg, g, layers.StoreAll, false, n, size)
			net.DrawDepth(rand.New(rand.NewPCG(1, 2)))
			x, _ := g.Alloc(n, 3, size, size)
			defer g.Free(x)
			labels, _ := g.Alloc(n)
			defer g.Free(labels)
			lr, _ := g.Alloc(1)
			defer g.Free(lr)
			mask, _ := g.Alloc(len(net.Units))
			defer g.Free(mask)
			hx, hl, hlr, hm := make([]float32, n*3*size*size), make([]float32, n), []float32{0.05}, make([]float32, len(net.Units))
			upload := func() {
				g.CopyIn(x, hx)
				g.CopyIn(labels, hl)
				g.CopyIn(lr, hlr)
			}
			p := ops.SGDParams{Momentum: 0.9, WeightDecay: 1e-4, LRTensor: lr}
			step := func() {
				net.Forward(x)
				net.Loss(labels, true)
				net.Backward()
				net.Step(p)
			}
			counted := func(f func()) map[string]int64 {
				if err := g.Sync(); err != nil {
					t.Fatal(err)
				}
				before, ok := deviceCounters(t, stats)
				if !ok {
					t.Skip("no device counters: not running on the simulator (scripts/cudasim)")
				}
				f()
				if err := g.Sync(); err != nil {
					t.Fatal(err)
				}
				after, _ := deviceCounters(t, stats)
				d := map[string]int64{}
				for k, v := range after {
					d[k] = v - before[k]
				}
				return d
			}
			upload()
			step() // warm-up: cuDNN's algorithm search
			eager := counted(func() { upload(); step() })
			if err := g.BeginCapture(); err != nil {
				t.Fatal(err)
			}
			if sd {
				net.Env.Mask, net.Env.Branch = mask, g
			}
			step()
			net.Env.Branch = nil
			graph, err := g.EndCapture()
			if err != nil {
				t.Fatal(err)
			}
			defer graph.Close()
			launched := counted(func() {
				upload()
				if sd {
					net.MaskInto(hm)
					g.CopyIn(mask, hm)
				}
				graph.Launch()
			})
			t.Logf("library calls per step: eager %d, graph %d; kernels %d and %d",
				eager["api_calls"], launched["api_calls"], eager["kernels_run"], launched["kernels_run"])
			if launched["api_calls"] > 14 {
				t.Errorf("a launched step made %d library calls, want at most 14", launched["api_calls"])
			}
			if eager["api_calls"] < 10*launched["api_calls"] {
				t.Errorf("eager %d library calls a step: the comparison measures nothing", eager["api_calls"])
			}
			want, dropped := eager["kernels_run"], 0
			if sd {
				want++ // dr_set_branches
				for _, u := range net.Units {
					if u.Active {
						continue
					}
					dropped++
					want++ // the dropped unit's output copied where the kept one's goes
					if _, identity := u.Short.(*layers.Identity); identity {
						want++ // and its gradient, which eagerly passes through
					}
				}
				if dropped == 0 || dropped == len(net.Units) {
					t.Fatalf("%d of %d units dropped: the mask tests nothing", dropped, len(net.Units))
				}
				// A kept and a dropped form per unit, forward and back: one IF
				// node with an else body each, or two IF nodes of which one runs.
				taken, skipped := 2*int64(len(net.Units)), int64(0)
				if twoIfs {
					skipped = taken
				}
				if launched["conditional_taken"] != taken || launched["conditional_skipped"] != skipped {
					t.Errorf("conditional nodes: %d bodies run, %d skipped; want %d and %d",
						launched["conditional_taken"], launched["conditional_skipped"], taken, skipped)
				}
			}
			if launched["kernels_run"] != want || launched["graph_launches"] != 1 {
				t.Errorf("graph step: %d kernels in %d launches, want %d (eager %d, %d units dropped)", launched["kernels_run"],
					launched["graph_launches"], want, eager["kernels_run"], dropped)
			}
		})
	}
}

// TestCaptureIfOnDevice: the bodies CaptureIf records run at each launch
// according to the flag's value then (conditional nodes set by
// dr_set_branches), in order with the work around them, several times.
func TestCaptureIfOnDevice(t *testing.T) {
	t.Run("if-else", func(t *testing.T) { captureIf(t) })
	t.Run("two-ifs", func(t *testing.T) {
		defer gpu.SetIfElseFrom(1 << 30)() // a driver before CUDA 12.8
		captureIf(t)
	})
}

func captureIf(t *testing.T) {
	g := openFP32(t)
	if err := g.CanBranch(); err != nil {
		t.Fatal(err)
	}
	alloc := func(n int) ops.Tensor {
		x, err := g.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Free(x) })
		return x
	}
	y, one, flags := alloc(3), alloc(3), alloc(2)
	g.CopyIn(one, []float32{1, 2, 3})
	if err := g.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	g.Fill(y, 10)
	g.CaptureIf(flags, 0, func() { g.AddTensor(y, one, 1, 1) }, func() { g.AddTensor(y, one, -1, 1) })
	g.AddTensor(y, y, 1, 1) // doubles what the branch left
	g.CaptureIf(flags, 1, nil, func() { g.Fill(y, -5) })
	graph, err := g.EndCapture()
	if err != nil {
		t.Fatal(err)
	}
	defer graph.Close()
	for _, tc := range []struct {
		flags []float32
		want  []float32
	}{
		{[]float32{1, 1}, []float32{22, 24, 26}},
		{[]float32{0, 1}, []float32{18, 16, 14}},
		{[]float32{1, 0}, []float32{-5, -5, -5}},
		{[]float32{2.5, 1}, []float32{22, 24, 26}},
	} {
		g.CopyIn(flags, tc.flags)
		graph.Launch()
		got := make([]float32, 3)
		if err := g.CopyOut(got, y); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("flags %v: y = %v, want %v", tc.flags, got, tc.want)
			}
		}
	}
}

// TestCapturedGEMMInPieces: a linear layer captured in a segment and in a
// branch body, as in a stochastic-depth step whose head follows the last
// branch. Each captured piece becomes a child graph, which a graph holding
// memory allocation nodes cannot be (cuda.h, cuGraphAddChildGraphNode);
// the simulated cuBLAS records such nodes when it has no workspace of its
// own, so this fails unless Open gave cuBLAS one after setting its stream.
func TestCapturedGEMMInPieces(t *testing.T) {
	g := openFP32(t)
	if err := g.CanBranch(); err != nil {
		t.Fatal(err)
	}
	alloc := func(shape ...int) ops.Tensor {
		x, err := g.Alloc(shape...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Free(x) })
		return x
	}
	x, w, y, w2, flags := alloc(1, 2), alloc(1, 2), alloc(1, 1), alloc(2, 1), alloc(1)
	g.CopyIn(x, []float32{1, 2})
	g.CopyIn(w, []float32{3, 4})
	g.CopyIn(w2, []float32{1, 0.5})
	if err := g.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	g.LinearForward(y, x, w) // y = 1·3 + 2·4 = 11; the branch makes x (11, 5.5), then y 55
	g.CaptureIf(flags, 0, func() { g.LinearForward(x, y, w2) }, nil)
	g.LinearForward(y, x, w)
	graph, err := g.EndCapture()
	if err != nil {
		t.Fatal(err)
	}
	defer graph.Close()
	for _, tc := range []struct{ flag, want float32 }{{0, 11}, {1, 55}} {
		g.CopyIn(flags, []float32{tc.flag})
		graph.Launch()
		got := make([]float32, 1)
		if err := g.CopyOut(got, y); err != nil {
			t.Fatal(err)
		}
		if got[0] != tc.want {
			t.Errorf("flag %v: y = %v, want %v", tc.flag, got[0], tc.want)
		}
	}
}
