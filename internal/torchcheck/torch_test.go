package torchcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/train"
)

const python = "/usr/bin/python3"

// Tolerances: two float32 implementations with different summation orders.
const (
	atol = 1e-4
	rtol = 1e-3
)

const batchN = 4

var sgd = ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true}

// driver runs many pytorch_ref.py invocations in one process (one torch
// import): it reads a JSON list of argv lists on stdin and prints one JSON
// list of {"ok", "error"} results.
const driver = `
import sys, json, io, contextlib, traceback
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(1)
import pytorch_ref
jobs = json.load(sys.stdin)
res = []
for argv in jobs:
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            pytorch_ref.main(argv)
        res.append({"ok": True, "error": ""})
    except SystemExit as e:
        res.append({"ok": False, "error": "SystemExit: %s" % e})
    except Exception:
        res.append({"ok": False, "error": traceback.format_exc()})
print(json.dumps(res))
`

// tcase is one configuration, built the same way on both sides.
type tcase struct {
	name  string
	goCfg string                 // models.Parse name
	mod   func(c *models.Config) // adjustments to the parsed config
	model string                 // pytorch_ref model name
	args  []string               // pytorch_ref model options
	size  int                    // image size
	keep  []bool                 // stochastic-depth draws (nil: SD off)
	seed  uint64                 // layers.Env.DropoutSeed before Forward
	eval  bool                   // evaluation forward instead of a training step
	// skip lists tensors left out of the comparison, each with its reason.
	skip map[string]string
	// float64 marks a network too deep for a float32 training step to be
	// reproducible to the usual tolerance (at initialisation its backward
	// pass amplifies rounding: PyTorch's own float32 and float64 gradients
	// of preact-resnet-164's conv1 differ by about 5%). Logits and losses are
	// compared as usual; every other tensor against PyTorch in float64, to
	// within float64Slack times PyTorch float32's own distance from it.
	float64 bool
}

// goOut holds what the Go side computed, by comparison name.
type goOut map[string][]float32

func cases() []tcase {
	var cs []tcase
	add := func(c tcase) {
		if c.size == 0 {
			c.size = 16
		}
		cs = append(cs, c)
	}
	add(tcase{name: "resnet-8/A", goCfg: "resnet-8", model: "resnet-8", size: 32})
	add(tcase{name: "resnet-8/B", goCfg: "resnet-8", model: "resnet-8", args: []string{"--shortcut", "B"},
		mod: func(c *models.Config) { c.ProjectionB = true }})
	// Table 1
	add(tcase{name: "t1/constant", goCfg: "resnet-8", model: "resnet-8", args: []string{"--shortcut-variant", "constant:0.5,0.5"},
		mod: func(c *models.Config) { c.Variant, c.LambdaShort, c.LambdaBranch = models.ConstantScaling, 0.5, 0.5 }})
	add(tcase{name: "t1/exclusive", goCfg: "resnet-8", model: "resnet-8", args: []string{"--shortcut-variant", "exclusive-gate:-2"},
		mod: func(c *models.Config) { c.Variant, c.GateBias = models.ExclusiveGating, -2 }})
	add(tcase{name: "t1/shortcut-only", goCfg: "resnet-8", model: "resnet-8", args: []string{"--shortcut-variant", "shortcut-gate:0"},
		mod: func(c *models.Config) { c.Variant, c.GateBias = models.ShortcutGating, 0 }})
	add(tcase{name: "t1/conv", goCfg: "resnet-8", model: "resnet-8", args: []string{"--shortcut-variant", "conv"},
		mod: func(c *models.Config) { c.Variant = models.ConvShortcut }})
	add(tcase{name: "t1/dropout", goCfg: "resnet-8", model: "resnet-8", args: []string{"--shortcut-variant", "dropout"},
		mod: func(c *models.Config) { c.Variant = models.DropoutShortcut }, seed: 0xDEADBEEFCAFEF00D})
	// Table 2, basic and bottleneck (depth 11: one bottleneck unit per stage)
	for _, u := range models.UnitVariants {
		add(tcase{name: "t2/basic/" + string(u), goCfg: "resnet-8", model: "resnet-8", args: []string{"--unit", string(u)},
			mod: func(c *models.Config) { c.Unit = u }})
	}
	for _, u := range models.UnitVariants {
		add(tcase{name: "t2/bottleneck/" + string(u), goCfg: "resnet-8", model: "resnet-11", args: []string{"--unit", string(u)},
			mod: func(c *models.Config) { c.Unit, c.Bottleneck, c.Depth = u, true, 11 }})
	}
	add(tcase{name: "preact-resnet-8", goCfg: "preact-resnet-8", model: "preact-resnet-8"})
	add(tcase{name: "preact-resnet-8/B", goCfg: "preact-resnet-8", model: "preact-resnet-8", args: []string{"--shortcut", "B"},
		mod: func(c *models.Config) { c.ProjectionB = true }})
	// The released networks at full depth: He's preact-resnet-164 (resnet-pre-act.lua) and Table 2's
	// ResNet-110 with full pre-activation units (preresnet.lua), on small images to stay quick.
	add(tcase{name: "preact-resnet-164", goCfg: "preact-resnet-164", model: "preact-resnet-164", size: 32, float64: true})
	add(tcase{name: "t2/resnet-110/full-preact", goCfg: "resnet-110", model: "resnet-110", args: []string{"--unit", "full-preact"},
		mod: func(c *models.Config) { c.Unit = models.FullPreact }, size: 8})
	add(tcase{name: "wrn-10-2/dropout", goCfg: "wrn-10-2", model: "wrn-10-2", args: []string{"--dropout", "0.3"},
		mod: func(c *models.Config) { c.Dropout = 0.3 }, seed: 12345})

	// Stochastic depth: units 1 (layer1.1), 2 (layer2.0, a transition) and 5 (layer3.1) dropped.
	keep := []bool{true, false, false, true, true, false}
	sd := func(c *models.Config) { c.SD, c.SDPL = models.SDLinear, 0.5 }
	sdArgs := []string{"--sd", "linear:0.5"}
	add(tcase{name: "sd/resnet-14", goCfg: "resnet-14", model: "resnet-14", args: sdArgs, mod: sd, keep: keep})
	add(tcase{name: "sd/resnet-14/B", goCfg: "resnet-14", model: "resnet-14", args: append([]string{"--shortcut", "B"}, sdArgs...),
		mod: func(c *models.Config) { sd(c); c.ProjectionB = true }, keep: keep})
	add(tcase{name: "sd/preact-resnet-14", goCfg: "preact-resnet-14", model: "preact-resnet-14", args: sdArgs, mod: sd, keep: keep})
	// layer1.0 dropped: its shared pre-activation still feeds the identity shortcut.
	add(tcase{name: "sd/preact-resnet-14/first-dropped", goCfg: "preact-resnet-14", model: "preact-resnet-14", args: sdArgs, mod: sd,
		keep: []bool{false, true, false, true, true, true}})
	// Stochastic_Depth's option A: 2x2 average pooling (ResidualDrop.lua).
	add(tcase{name: "sd/resnet-14/avgpool", goCfg: "resnet-14", model: "resnet-14", args: append([]string{"--option-a", "avgpool"}, sdArgs...),
		mod: func(c *models.Config) { sd(c); c.OptionA = models.OptionAAvgPool }, keep: keep})
	add(tcase{name: "sd/wrn-10-2/dropout", goCfg: "wrn-10-2", model: "wrn-10-2", args: append([]string{"--dropout", "0.3"}, sdArgs...),
		mod: func(c *models.Config) { sd(c); c.Dropout = 0.3 }, keep: []bool{true, false, true}, seed: 777})
	// RoR
	for _, m := range []int{2, 3} {
		ms := strconv.Itoa(m)
		for _, name := range []string{"resnet-14", "preact-resnet-14", "wrn-10-2"} {
			add(tcase{name: "ror" + ms + "/" + name, goCfg: name, model: name, args: []string{"--ror", ms},
				mod: func(c *models.Config) { c.RoR = m }})
		}
	}
	// RoR 3 + SD: the last units of stages 1 and 3 (which receive RoR terms) dropped, and layer2.0.
	rorKeep := []bool{true, false, false, true, true, false}
	rorSD := func(c *models.Config) { sd(c); c.RoR = 3 }
	rorSDArgs := append([]string{"--ror", "3"}, sdArgs...)
	add(tcase{name: "ror3+sd/resnet-14", goCfg: "resnet-14", model: "resnet-14", args: rorSDArgs, mod: rorSD, keep: rorKeep})
	add(tcase{name: "ror3+sd/preact-resnet-14", goCfg: "preact-resnet-14", model: "preact-resnet-14", args: rorSDArgs, mod: rorSD,
		keep: rorKeep})
	// Evaluation with SD: branches scaled by p_l, running statistics used.
	add(tcase{name: "eval/sd/resnet-14", goCfg: "resnet-14", model: "resnet-14", args: sdArgs, mod: sd, eval: true})
	add(tcase{name: "eval/sd/preact-resnet-14", goCfg: "preact-resnet-14", model: "preact-resnet-14", args: sdArgs, mod: sd, eval: true})
	add(tcase{name: "eval/ror3+sd/wrn-10-2", goCfg: "wrn-10-2", model: "wrn-10-2", args: append([]string{"--ror", "3", "--dropout", "0.3"}, sdArgs...),
		mod: func(c *models.Config) { rorSD(c); c.Dropout = 0.3 }, eval: true})
	return cs
}

func TestAgainstPyTorch(t *testing.T) {
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("skipping: %s cannot import torch (%v); install python3-torch (scripts/bench/README.md)", python, err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "scripts", "bench", "pytorch_ref.py")
	if _, err := os.Stat(script); err != nil {
		t.Skipf("skipping: %v", err)
	}
	dir := t.TempDir()
	cs := cases()
	gos := make([]goOut, len(cs))
	var jobs [][]string
	start := time.Now()
	for i, c := range cs {
		ckpt := filepath.Join(dir, fmt.Sprintf("ckpt%d.safetensors", i))
		input := filepath.Join(dir, fmt.Sprintf("input%d.safetensors", i))
		out := filepath.Join(dir, fmt.Sprintf("out%d.safetensors", i))
		gos[i] = runGo(t, c, uint64(i+1), ckpt, input)
		argv := []string{"forward", "--model", c.model}
		argv = append(argv, c.args...)
		argv = append(argv, "--checkpoint", ckpt, "--input", input, "--out", out,
			"--dropout-seed", strconv.FormatUint(c.seed, 10))
		if c.eval {
			argv = append(argv, "--mode", "eval")
		} else {
			argv = append(argv, "--train-step", "--lr", fmt.Sprint(sgd.LR), "--momentum", fmt.Sprint(sgd.Momentum),
				"--weight-decay", fmt.Sprint(sgd.WeightDecay), "--nesterov")
		}
		jobs = append(jobs, argv)
	}
	goTime := time.Since(start)
	// Controls: the dropout cases rerun in PyTorch with the next dropout seed
	// must give other logits, so the masks really are exercised on both sides.
	type control struct{ ci, job int }
	var controls []control
	for i, c := range cs {
		if c.seed == 0 || c.eval {
			continue
		}
		argv := append([]string(nil), jobs[i]...)
		for k := 1; k < len(argv); k++ {
			switch argv[k-1] {
			case "--dropout-seed":
				argv[k] = strconv.FormatUint(c.seed+1, 10)
			case "--out":
				argv[k] = filepath.Join(dir, fmt.Sprintf("control%d.safetensors", i))
			}
		}
		controls = append(controls, control{i, len(jobs)})
		jobs = append(jobs, argv)
	}
	// The float64 references of the deep cases.
	exact := map[int]int{} // case → job
	for i, c := range cs {
		if !c.float64 {
			continue
		}
		argv := append([]string(nil), jobs[i]...)
		for k := 1; k < len(argv); k++ {
			if argv[k-1] == "--out" {
				argv[k] = filepath.Join(dir, fmt.Sprintf("exact%d.safetensors", i))
			}
		}
		exact[i] = len(jobs)
		jobs = append(jobs, append(argv, "--float64"))
	}

	start = time.Now()
	in, _ := json.Marshal(jobs)
	cmd := exec.Command(python, "-c", driver, filepath.Dir(script))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("pytorch_ref driver: %v\n%s", err, stderr.String())
	}
	var res []struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(lastLine(stdout)), &res); err != nil || len(res) != len(jobs) {
		t.Fatalf("pytorch_ref driver output (%v): %s\n%s", err, stdout, stderr.String())
	}
	t.Logf("Go side %v, PyTorch side %v for %d configurations", goTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), len(cs))

	for _, ct := range controls {
		c := cs[ct.ci]
		if !res[ct.job].OK {
			t.Errorf("control %s: pytorch_ref: %s", c.name, res[ct.job].Error)
			continue
		}
		f, err := checkpoint.Read(filepath.Join(dir, fmt.Sprintf("control%d.safetensors", ct.ci)))
		if err != nil {
			t.Fatal(err)
		}
		if bad, maxErr := mismatches(gos[ct.ci]["logits"], f.Tensors["logits"].Data().([]float32)); bad == 0 {
			t.Errorf("control %s: PyTorch with dropout seed %d matches Go with seed %d (max |err| %.3g): the masks are not exercised",
				c.name, c.seed+1, c.seed, maxErr)
		} else {
			t.Logf("control %s: dropout seed %d vs %d: %d logits differ, max |err| %.3g (as it should)", c.name, c.seed+1, c.seed, bad, maxErr)
		}
	}

	for i, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			if !res[i].OK {
				t.Fatalf("pytorch_ref %s: %s", strings.Join(jobs[i], " "), res[i].Error)
			}
			f, err := checkpoint.Read(filepath.Join(dir, fmt.Sprintf("out%d.safetensors", i)))
			if err != nil {
				t.Fatal(err)
			}
			if j, ok := exact[i]; ok {
				if !res[j].OK {
					t.Fatalf("pytorch_ref --float64: %s", res[j].Error)
				}
				f64, err := checkpoint.Read(filepath.Join(dir, fmt.Sprintf("exact%d.safetensors", i)))
				if err != nil {
					t.Fatal(err)
				}
				compareExact(t, c, gos[i], f.Tensors, f64.Tensors)
				return
			}
			compare(t, c, gos[i], f.Tensors)
		})
	}
}

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// runGo builds c on cpuref, writes its (perturbed) weights, momentum and input
// for pytorch_ref, runs the step and returns every tensor to compare.
func runGo(t *testing.T, c tcase, seed uint64, ckpt, input string) goOut {
	t.Helper()
	cfg, err := models.Parse(c.goCfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.mod != nil {
		c.mod(&cfg)
	}
	b := cpuref.New(1)
	net, err := models.New(cfg, b)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if err := net.SetupSize(batchN, c.size); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	net.Init(seed)
	if err := net.SetupOptimizer(); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 99))

	// Weights: He init, with BN parameters and running statistics moved off
	// their initial 1/0 so that mix-ups show; momentum random.
	sd, err := train.StateDict(net)
	if err != nil {
		t.Fatal(err)
	}
	sdNames := make([]string, 0, len(sd))
	for name := range sd {
		sdNames = append(sdNames, name)
	}
	sort.Strings(sdNames) // the same draws on every run
	for _, name := range sdNames {
		v := sd[name].Data().([]float32)
		switch {
		case strings.HasSuffix(name, ".running_mean"):
			fill(v, func() float64 { return 0.1 * r.NormFloat64() })
		case strings.HasSuffix(name, ".running_var"):
			fill(v, func() float64 { return 0.5 + r.Float64() })
		case isBN(name) && strings.HasSuffix(name, ".weight"):
			fill(v, func() float64 { return 1 + 0.2*r.NormFloat64() })
		case isBN(name) && strings.HasSuffix(name, ".bias"):
			fill(v, func() float64 { return 0.1 * r.NormFloat64() })
		}
	}
	mom := make([]float32, net.Params.Count())
	for _, p := range net.Params.Params {
		v := mom[p.Offset() : p.Offset()+p.Shape.Len()]
		fill(v, func() float64 { return 0.01 * r.NormFloat64() })
		sd[train.MomentumPrefix+p.Name] = dense(p.Shape, v)
	}
	if err := train.LoadStateDict(net, sd, ckpt); err != nil {
		t.Fatal(err)
	}
	b.CopyIn(net.Momentum(), mom)
	if err := checkpoint.Write(ckpt, sd, map[string]string{"case": c.name}); err != nil {
		t.Fatal(err)
	}

	// Input
	hx := make([]float32, batchN*3*c.size*c.size)
	fill(hx, r.NormFloat64)
	labels := make([]float32, batchN)
	fill(labels, func() float64 { return float64(r.IntN(cfg.Classes)) })
	inTensors := map[string]*tensor.Dense{
		"x":      dense(ops.Shape{batchN, 3, c.size, c.size}, hx),
		"labels": dense(ops.Shape{batchN}, labels),
	}
	if c.keep != nil {
		if len(c.keep) != len(net.Units) {
			t.Fatalf("%s: keep pattern has %d entries, network %d units", c.name, len(c.keep), len(net.Units))
		}
		k := make([]float32, len(c.keep))
		for i, on := range c.keep {
			net.Units[i].Active = on
			if on {
				k[i] = 1
			}
		}
		inTensors["sd_keep"] = dense(ops.Shape{len(k)}, k)
	}
	if err := checkpoint.Write(input, inTensors, nil); err != nil {
		t.Fatal(err)
	}
	x, err := b.Alloc(batchN, 3, c.size, c.size)
	if err != nil {
		t.Fatal(err)
	}
	b.CopyIn(x, hx)
	lab, err := b.Alloc(batchN)
	if err != nil {
		t.Fatal(err)
	}
	b.CopyIn(lab, labels)

	out := goOut{}
	get := func(x ops.Tensor) []float32 {
		h := make([]float32, x.Shape().Len())
		if err := b.CopyOut(h, x); err != nil {
			t.Fatal(err)
		}
		return h
	}
	net.SetTraining(!c.eval)
	net.Env.DropoutSeed = c.seed
	out["logits"] = get(net.Forward(x))
	net.Loss(lab, !c.eval)
	out["losses"] = get(net.Losses())
	if c.eval {
		return out
	}
	net.Backward()
	grads := get(net.Params.Grads())
	net.Step(sgd)
	values := get(net.Params.Values())
	moms := get(net.Momentum())
	for _, p := range net.Params.Params {
		o, n := p.Offset(), p.Shape.Len()
		out["grad."+p.Name] = grads[o : o+n]
		out[p.Name] = values[o : o+n]
		out[train.MomentumPrefix+p.Name] = moms[o : o+n]
	}
	for _, buf := range net.Params.Buffers {
		out[buf.Name] = get(buf.Value)
	}
	return out
}

// isBN reports whether a parameter name belongs to a batch-norm layer
// ("layer1.0.bn2.weight", "shortcut.bn.bias", "bn_final.weight").
func isBN(name string) bool {
	parts := strings.Split(name, ".")
	return len(parts) >= 2 && strings.HasPrefix(parts[len(parts)-2], "bn")
}

func fill(v []float32, f func() float64) {
	for i := range v {
		v[i] = float32(f())
	}
}

func dense(shape ops.Shape, v []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), v...)))
}

// compare checks every Go tensor against PyTorch's and logs the largest
// error of the configuration.
func compare(t *testing.T, c tcase, got goOut, ref map[string]*tensor.Dense) {
	t.Helper()
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	worst, worstName := 0.0, ""
	checked := 0
	for _, n := range names {
		d, ok := ref[n]
		if !ok {
			t.Errorf("%s: PyTorch output lacks %s", c.name, n)
			continue
		}
		want := d.Data().([]float32)
		g := got[n]
		if len(want) != len(g) {
			t.Errorf("%s: %s has %d elements in Go, %d in PyTorch", c.name, n, len(g), len(want))
			continue
		}
		bad, maxErr := mismatches(g, want)
		first := firstMismatch(g, want)
		if why, ok := c.skip[n]; ok {
			t.Logf("not compared: %s (%s); %d elements beyond tolerance, max |err| %.3g", n, why, bad, maxErr)
			continue
		}
		checked++
		if maxErr > worst {
			worst, worstName = maxErr, n
		}
		if bad > 0 {
			t.Errorf("%s: %s: %d of %d elements differ, max |err| %.3g; first at %d: Go %g, PyTorch %g",
				c.name, n, bad, len(g), maxErr, first, g[first], want[first])
		}
	}
	// PyTorch's state_dict must hold nothing Go lacks.
	for n := range ref {
		switch n {
		case "loss", "correct", "sd_keep":
			continue
		}
		if _, ok := got[n]; !ok {
			if _, skipped := c.skip[n]; !skipped {
				t.Errorf("%s: PyTorch has %s, Go does not", c.name, n)
			}
		}
	}
	t.Logf("%d tensors compared, max |err| %.3g (%s)", checked, worst, worstName)
}

func elemErr(a, w float32) (float64, bool) {
	e := math.Abs(float64(a) - float64(w))
	if math.IsNaN(e) {
		e = math.Inf(1)
	}
	return e, e <= atol+rtol*math.Abs(float64(w))
}

// mismatches counts the elements of got beyond |a−b| <= atol + rtol·|b| of
// want and returns the largest absolute error.
// float64Slack is how many times PyTorch float32's distance from the
// float64 result Go's may be: two float32 implementations summing in
// different orders are each that far from exact, not nearer each other.
const float64Slack = 4

// compareExact checks a float64 case: logits and losses against PyTorch
// float32 to the usual tolerance, every other tensor against PyTorch float64
// to within float64Slack times PyTorch float32's own largest error there
// (plus atol). It reports, per tensor family, both distances.
func compareExact(t *testing.T, c tcase, got goOut, ref32, ref64 map[string]*tensor.Dense) {
	t.Helper()
	maxDiff := func(a, b []float32) float64 {
		m := 0.0
		for i := range a {
			m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
		}
		return m
	}
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	var worstRatio float64
	worstName := ""
	for _, n := range names {
		r32, ok32 := ref32[n]
		r64, ok64 := ref64[n]
		if !ok32 || !ok64 {
			t.Errorf("%s: PyTorch output lacks %s", c.name, n)
			continue
		}
		g, w32, w64 := got[n], r32.Data().([]float32), r64.Data().([]float32)
		if len(g) != len(w32) || len(g) != len(w64) {
			t.Errorf("%s: %s has %d elements in Go, %d and %d in PyTorch", c.name, n, len(g), len(w32), len(w64))
			continue
		}
		if n == "logits" || n == "losses" {
			if bad, maxErr := mismatches(g, w32); bad > 0 {
				t.Errorf("%s: %s: %d of %d elements differ from PyTorch float32, max |err| %.3g", c.name, n, bad, len(g), maxErr)
			}
			continue
		}
		eGo, e32 := maxDiff(g, w64), maxDiff(w32, w64)
		if eGo > float64Slack*e32+atol {
			t.Errorf("%s: %s: Go is %.3g from PyTorch float64, PyTorch float32 %.3g (allowed %d× + %g)", c.name, n, eGo, e32, float64Slack, atol)
		}
		if r := eGo / (e32 + atol); r > worstRatio {
			worstRatio, worstName = r, n
		}
	}
	t.Logf("%s: %d tensors; largest (Go − float64) / (float32 − float64 + atol) is %.2f, at %s", c.name, len(names), worstRatio, worstName)
}

func mismatches(got, want []float32) (int, float64) {
	bad, maxErr := 0, 0.0
	for i := range got {
		e, ok := elemErr(got[i], want[i])
		maxErr = math.Max(maxErr, e)
		if !ok {
			bad++
		}
	}
	return bad, maxErr
}

func firstMismatch(got, want []float32) int {
	for i := range got {
		if _, ok := elemErr(got[i], want[i]); !ok {
			return i
		}
	}
	return -1
}
