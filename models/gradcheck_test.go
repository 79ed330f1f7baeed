package models

import (
	"github.com/deepres/deepres/cpuref"
	"math"
	"math/rand/v2"
	"testing"
)

// gradCase is a tiny instance of one unit variant.
type gradCase struct {
	name   string
	model  string
	adjust func(*Config)
	// mask, when set, fixes the stochastic-depth draw: unit i is active iff mask(i).
	mask func(i int) bool
}

func gradCases() []gradCase {
	bottleneck := func(c *Config) { c.Bottleneck, c.Depth = true, 11 }
	unit := func(v UnitVariant) func(*Config) { return func(c *Config) { c.Unit = v } }
	sd := func(c *Config) { c.SD, c.SDPL = SDLinear, 0.5 }
	alternate := func(i int) bool { return i%2 == 0 }
	cases := []gradCase{
		{name: "resnet/A", model: "resnet-8"},
		{name: "resnet/B", model: "resnet-8", adjust: func(c *Config) { c.ProjectionB = true }},
		{name: "table1/constant", model: "resnet-8", adjust: func(c *Config) { c.Variant, c.LambdaShort, c.LambdaBranch = ConstantScaling, 0.5, 0.5 }},
		{name: "table1/exclusive", model: "resnet-8", adjust: func(c *Config) { c.Variant, c.GateBias = ExclusiveGating, -1 }},
		{name: "table1/shortcut-only", model: "resnet-8", adjust: func(c *Config) { c.Variant, c.GateBias = ShortcutGating, 0 }},
		{name: "table1/conv", model: "resnet-8", adjust: func(c *Config) { c.Variant = ConvShortcut }},
		{name: "table1/dropout", model: "resnet-8", adjust: func(c *Config) { c.Variant = DropoutShortcut }},
		{name: "preact/basic", model: "preact-resnet-8"},
		{name: "wrn/dropout", model: "wrn-10-2", adjust: func(c *Config) { c.Dropout = 0.3 }},
		{name: "sd/resnet-14", model: "resnet-14", adjust: sd, mask: alternate},
		{name: "sd/resnet-14-B", model: "resnet-14", adjust: func(c *Config) { sd(c); c.ProjectionB = true }, mask: func(i int) bool { return i%3 != 0 }},
		{name: "sd/preact-14", model: "preact-resnet-14", adjust: sd, mask: func(i int) bool { return i%3 != 0 }},
		// Stochastic_Depth's recipe: average-pool option A, fan-in init, U(0,1) BN scales.
		{name: "sd/resnet-14-avgpool", model: "resnet-14", adjust: func(c *Config) {
			sd(c)
			c.OptionA, c.InitFan, c.BNScaleInit = OptionAAvgPool, FanIn, BNScaleUniform
		}, mask: func(i int) bool { return i%3 != 1 }},
		{name: "preact/B", model: "preact-resnet-8", adjust: func(c *Config) { c.ProjectionB = true }},
		{name: "sd/wrn-16-2", model: "wrn-16-2", adjust: sd, mask: alternate},
		{name: "ror2/resnet", model: "resnet-8", adjust: func(c *Config) { c.RoR = 2 }},
		{name: "ror3/resnet", model: "resnet-14", adjust: func(c *Config) { c.RoR = 3 }},
		{name: "ror3/preact", model: "preact-resnet-14", adjust: func(c *Config) { c.RoR = 3 }},
		{name: "ror3/wrn", model: "wrn-10-2", adjust: func(c *Config) { c.RoR = 3 }},
		{name: "ror3+sd/resnet", model: "resnet-14", adjust: func(c *Config) { c.RoR = 3; sd(c) }, mask: func(i int) bool { return i%2 == 1 }},
		{name: "ror3+sd/preact", model: "preact-resnet-14", adjust: func(c *Config) { c.RoR = 3; sd(c) }, mask: alternate},
	}
	for _, v := range UnitVariants {
		cases = append(cases,
			gradCase{name: "table2/basic/" + string(v), model: "resnet-8", adjust: unit(v)},
			gradCase{name: "table2/bottleneck/" + string(v), model: "resnet-8", adjust: func(c *Config) { bottleneck(c); c.Unit = v }})
	}
	return cases
}

// direction is a unit vector half along the gradient g, half random: the
// derivative along it is large (so float32 noise and ReLU kinks matter
// little next to it), and an error orthogonal to g still shows.
func direction(r *rand.Rand, g []float32) []float32 {
	gn, rn := 0.0, 0.0
	rv := make([]float64, len(g))
	for i := range g {
		rv[i] = r.NormFloat64()
		gn += float64(g[i]) * float64(g[i])
		rn += rv[i] * rv[i]
	}
	gn, rn = math.Sqrt(gn), math.Sqrt(rn)
	v := make([]float32, len(g))
	vn := 0.0
	for i := range g {
		x := rv[i] / rn
		v[i] = float32(x)
		vn += x * x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(vn))
	}
	return v
}

// TestGradients checks every parameter gradient of whole tiny networks
// against central finite differences of the loss along a random direction
// per parameter tensor, on the CPU reference.
func TestGradients(t *testing.T) {
	for _, tc := range gradCases() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, tc.model)
			if tc.adjust != nil {
				tc.adjust(&cfg)
			}
			checkGradients(t, cfg, tc.mask)
		})
	}
}

func checkGradients(t *testing.T, cfg Config, mask func(int) bool) {
	b := cpuref.New(1) // one thread: the same arithmetic on every machine
	const n, size = 8, 8
	net := buildNet(t, cfg, b, n, size)
	if err := net.SetupOptimizer(); err != nil {
		t.Fatal(err)
	}
	net.SetTraining(true)
	if mask != nil {
		for i, u := range net.Units {
			u.Active = mask(i)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	bt := randomBatch(t, b, r, n, size, cfg.Classes)
	const seed = 77
	loss := func() float64 {
		net.Env.DropoutSeed = seed
		return meanLoss(t, net, bt, false)
	}
	net.Env.DropoutSeed = seed
	meanLoss(t, net, bt, true)
	net.Backward()
	grads := download(t, b, net.Params.Grads())
	if !finite(grads) {
		t.Fatal("gradients are not finite")
	}
	const eps = 2e-3
	worst := 0.0 // the largest error as a fraction of its tolerance
	defer func() { t.Logf("worst error %.2f of the tolerance", worst) }()
	for _, p := range net.Params.Params {
		w := download(t, b, p.Value)
		g := grads[p.Offset() : p.Offset()+len(w)]
		v := direction(r, g)
		analytic := 0.0
		for i := range v {
			analytic += float64(g[i]) * float64(v[i])
		}
		shifted := make([]float32, len(w))
		at := func(s float64) float64 {
			for i := range w {
				shifted[i] = w[i] + float32(s)*v[i]
			}
			b.CopyIn(p.Value, shifted)
			return loss()
		}
		// Richardson extrapolation of two central differences cancels the
		// ε² term, which BN on tiny batches makes large.
		d1 := (at(eps) - at(-eps)) / (2 * eps)
		d2 := (at(2*eps) - at(-2*eps)) / (4 * eps)
		numeric := (4*d1 - d2) / 3
		b.CopyIn(p.Value, w)
		tol := 0.3*math.Abs(analytic) + 3e-3
		worst = max(worst, math.Abs(analytic-numeric)/tol)
		if diff := math.Abs(analytic - numeric); diff > tol {
			t.Errorf("%s: analytic %.6g, finite difference %.6g", p.Name, analytic, numeric)
		}
	}
}
