package models

import (
	"fmt"
	"strconv"
	"strings"
)

// UnitVariant is where BN and ReLU sit in a unit (He et al. 2016, Table 2).
type UnitVariant string

const (
	Original       UnitVariant = "original"         // Fig. 4(a): ReLU(BN(conv(ReLU(BN(conv x)))) + x)
	BNAfterAdd     UnitVariant = "bn-after-add"     // Fig. 4(b): ReLU(BN(x + F(x))), F ending in a conv
	ReLUBeforeAdd  UnitVariant = "relu-before-add"  // Fig. 4(c): x + ReLU(BN(conv(…)))
	ReLUOnlyPreact UnitVariant = "relu-only-preact" // Fig. 4(d): F = ReLU-conv-BN-ReLU-conv-BN
	FullPreact     UnitVariant = "full-preact"      // Fig. 4(e): F = BN-ReLU-conv-BN-ReLU-conv
)

// UnitVariants lists the valid variants in Table 2's order.
var UnitVariants = []UnitVariant{Original, BNAfterAdd, ReLUBeforeAdd, ReLUOnlyPreact, FullPreact}

// ShortcutVariant is a Table 1 shortcut (He et al. 2016) on original units.
type ShortcutVariant string

const (
	PlainShortcut   ShortcutVariant = "identity"      // Fig. 2(a)
	ConstantScaling ShortcutVariant = "constant"      // Fig. 2(b): λs·h(x) + λf·F(x)
	ExclusiveGating ShortcutVariant = "exclusive"     // Fig. 2(c)
	ShortcutGating  ShortcutVariant = "shortcut-only" // Fig. 2(d)
	ConvShortcut    ShortcutVariant = "conv"          // Fig. 2(e): 1×1 conv (+BN) on every unit
	DropoutShortcut ShortcutVariant = "dropout"       // Fig. 2(f): dropout 0.5 on the shortcut
)

// OptionAForm is how option A reduces the image where the stride is 2.
type OptionAForm string

const (
	// OptionASubsample takes every second pixel (fb.resnet.torch:
	// nn.SpatialAveragePooling(1, 1, stride, stride)).
	OptionASubsample OptionAForm = "subsample"
	// OptionAAvgPool averages each 2×2 block (Stochastic_Depth
	// ResidualDrop.lua: nn.SpatialAveragePooling(stride, stride, stride, stride)).
	OptionAAvgPool OptionAForm = "avgpool"
)

// InitFan is the fan of He et al.'s N(0, sqrt(2/n)) conv initialisation.
type InitFan string

const (
	FanOut InitFan = "out" // n = kh·kw·out: He's and fb.resnet.torch's ConvInit
	FanIn  InitFan = "in"  // n = kh·kw·in: nninit.kaiming (Stochastic_Depth), MSRinit (WRN)
)

// BNScaleInit is how BN weights (γ) start.
type BNScaleInit string

const (
	BNScaleOne     BNScaleInit = "one"     // fb.resnet.torch BNInit: weight:fill(1)
	BNScaleUniform BNScaleInit = "uniform" // U(0, 1): cudnn.torch's reset(), kept by Stochastic_Depth
)

// SDRule is how stochastic depth assigns survival probabilities.
type SDRule string

const (
	SDOff     SDRule = "off"
	SDLinear  SDRule = "linear"  // p_l = 1 − (l/L)(1 − p_L), Huang et al.'s default
	SDUniform SDRule = "uniform" // p_l = p_L
)

// Config is everything that defines a network. The zero values of the
// optional fields are the papers' defaults.
type Config struct {
	Name       string // as given, e.g. "resnet-110"
	Family     string // "resnet", "preact-resnet" or "wrn"
	Depth      int
	Widen      int // WRN's K; 1 otherwise
	Bottleneck bool
	Unit       UnitVariant
	// ProjectionB selects option B (1×1 conv + BN) instead of option A where
	// a post-activation unit changes shape.
	ProjectionB bool
	Variant     ShortcutVariant
	// LambdaShort and LambdaBranch are constant scaling's λs and λf.
	LambdaShort, LambdaBranch float64
	// GateBias is b_g, the gating conv's initial bias.
	GateBias float64
	// Dropout is WRN's drop probability between the two convs (0: none).
	Dropout float64
	SD      SDRule
	SDPL    float64 // p_L
	RoR     int     // 1 (none), 2 or 3
	Classes int
	// OptionA is option A's form (empty: subsample, for configurations
	// recorded before the field existed).
	OptionA OptionAForm
	// InitFan and BNScaleInit are the initialisation rules (empty: out, one).
	InitFan     InitFan
	BNScaleInit BNScaleInit
	// Arch is the revision of the building rules the configuration was
	// made under (CurrentArch; 0 in configurations recorded before it existed).
	Arch int `json:",omitempty"`
	// NoBNDecay exempts BN weights and biases from weight decay (docs/design.md:
	// decay applies to every parameter "unless configured off").
	NoBNDecay bool
}

// CurrentArch is the revision of the building rules. Revision 1 (issue 13)
// changed full pre-activation ResNets (not WRN) to the released code's
// layout: bottleneck stride on the first 1×1, the shared pre-activation on
// every stage's first unit and option A at basic units' shape changes. A
// revision-0 network of that kind has the same parameter names, often the
// same shapes, and computes something else, so it is refused, not loaded.
const CurrentArch = 1

// Parse reads a model name and returns its default configuration:
// resnet-D (D = 6n+2; bottleneck 9n+2 from 164), preact-resnet-D (the same
// rule), wrn-D-K (D = 6n+4).
func Parse(name string) (Config, error) {
	c := Config{Name: name, Widen: 1, Variant: PlainShortcut, LambdaShort: 1, LambdaBranch: 1, SD: SDOff, SDPL: 0.5, RoR: 1, Classes: 10,
		OptionA: OptionASubsample, InitFan: FanOut, BNScaleInit: BNScaleOne, Arch: CurrentArch}
	var rest string
	switch {
	case strings.HasPrefix(name, "preact-resnet-"):
		c.Family, c.Unit, rest = "preact-resnet", FullPreact, strings.TrimPrefix(name, "preact-resnet-")
	case strings.HasPrefix(name, "resnet-"):
		c.Family, c.Unit, rest = "resnet", Original, strings.TrimPrefix(name, "resnet-")
	case strings.HasPrefix(name, "wrn-"):
		c.Family, c.Unit, rest = "wrn", FullPreact, strings.TrimPrefix(name, "wrn-")
	default:
		return c, fmt.Errorf("unknown model %q: %s", name, validNames)
	}
	if c.Family == "wrn" {
		d, k, ok := strings.Cut(rest, "-")
		depth, err1 := strconv.Atoi(d)
		widen, err2 := strconv.Atoi(k)
		if !ok || err1 != nil || err2 != nil || widen < 1 {
			return c, fmt.Errorf("model %q: want wrn-D-K with integers D and K >= 1: %s", name, validNames)
		}
		if depth < 10 || (depth-4)%6 != 0 {
			return c, fmt.Errorf("model %q: WRN depth must be 6n+4 with n >= 1 (10, 16, 22, 28, 40, 58, ...)", name)
		}
		c.Depth, c.Widen = depth, widen
		return c, nil
	}
	depth, err := strconv.Atoi(rest)
	if err != nil {
		return c, fmt.Errorf("model %q: depth %q is not a number: %s", name, rest, validNames)
	}
	c.Depth = depth
	switch {
	case depth >= 164 && (depth-2)%9 == 0:
		c.Bottleneck = true
	case depth >= 8 && (depth-2)%6 == 0:
	default:
		return c, fmt.Errorf("model %q: depth must be 6n+2 (8, 20, 32, 44, 56, 110, 1202, ...) or, from 164, 9n+2 for bottleneck units (164, 1001, ...)", name)
	}
	return c, nil
}

// Bounds on a configuration, far beyond the papers (resnet-1202, wrn-28-10,
// CIFAR-100) and below sizes whose parameter counts overflow an allocation:
// a name or a checkpoint's metadata is refused before anything is built.
const (
	MaxDepth   = 10000
	MaxWiden   = 100
	MaxClasses = 100000
)

const validNames = "valid names are resnet-D (D = 6n+2, e.g. 20, 56, 110, 1202; 9n+2 bottleneck from 164), " +
	"preact-resnet-D (e.g. 110, 164, 1001) and wrn-D-K (D = 6n+4, e.g. wrn-40-4, wrn-28-10)"

// UnitsPerStage is n, the number of residual units in each of the 3 stages.
func (c Config) UnitsPerStage() int {
	switch {
	case c.Family == "wrn":
		return (c.Depth - 4) / 6
	case c.Bottleneck:
		return (c.Depth - 2) / 9
	}
	return (c.Depth - 2) / 6
}

// StageWidths are the output channels of the three stages.
func (c Config) StageWidths() [3]int {
	if c.Bottleneck {
		return [3]int{64, 128, 256}
	}
	return [3]int{16 * c.Widen, 32 * c.Widen, 64 * c.Widen}
}

// Validate rejects impossible combinations before any work starts.
func (c Config) Validate() error {
	if c.Classes < 2 || c.Classes > MaxClasses {
		return fmt.Errorf("model %s: need 2 to %d classes, got %d", c.Name, MaxClasses, c.Classes)
	}
	if c.Depth < 1 || c.Depth > MaxDepth || c.Widen < 1 || c.Widen > MaxWiden {
		return fmt.Errorf("model %s: depth %d and widening %d must be in 1..%d and 1..%d", c.Name, c.Depth, c.Widen, MaxDepth, MaxWiden)
	}
	switch c.Unit {
	case Original, BNAfterAdd, ReLUBeforeAdd, ReLUOnlyPreact, FullPreact:
	default:
		return fmt.Errorf("model %s: unknown unit variant %q (valid: %v)", c.Name, c.Unit, UnitVariants)
	}
	if c.Family == "wrn" && c.Unit != FullPreact {
		return fmt.Errorf("model %s: WRN units are pre-activation; --unit %s applies to resnet and preact-resnet", c.Name, c.Unit)
	}
	switch c.Variant {
	case PlainShortcut:
	case ConstantScaling, ExclusiveGating, ShortcutGating, ConvShortcut, DropoutShortcut:
		if c.Unit != Original || c.Bottleneck {
			return fmt.Errorf("model %s: Table 1 shortcut %q is defined on original basic units (resnet-D, D = 6n+2)", c.Name, c.Variant)
		}
		if c.SD != SDOff {
			return fmt.Errorf("model %s: stochastic depth cannot be combined with the %q shortcut", c.Name, c.Variant)
		}
	default:
		return fmt.Errorf("model %s: unknown shortcut variant %q", c.Name, c.Variant)
	}
	switch c.SD {
	case SDOff:
	case SDLinear, SDUniform:
		if c.SDPL <= 0 || c.SDPL > 1 {
			return fmt.Errorf("model %s: stochastic depth p_L must be in (0, 1], got %g", c.Name, c.SDPL)
		}
	default:
		return fmt.Errorf("model %s: unknown stochastic-depth rule %q (off, linear, uniform)", c.Name, c.SD)
	}
	if c.Arch > CurrentArch {
		return fmt.Errorf("model %s: recorded by a newer deepres (building rules revision %d, this one knows up to %d); HINT: upgrade deepres",
			c.Name, c.Arch, CurrentArch)
	}
	if c.Arch != CurrentArch && c.Unit == FullPreact && c.Family != "wrn" {
		return fmt.Errorf("model %s: recorded by an older deepres (building rules revision %d, now %d) whose full pre-activation units "+
			"differ from today's (bottleneck stride, the first unit of each stage, option A); its weights do not fit this network: "+
			"HINT: start a new run, or use the deepres that wrote it", c.Name, c.Arch, CurrentArch)
	}
	switch c.OptionA {
	case "", OptionASubsample, OptionAAvgPool:
	default:
		return fmt.Errorf("model %s: unknown option-A form %q (--option-a: subsample, avgpool)", c.Name, c.OptionA)
	}
	switch c.InitFan {
	case "", FanOut, FanIn:
	default:
		return fmt.Errorf("model %s: unknown init fan %q (--init-fan: out, in)", c.Name, c.InitFan)
	}
	switch c.BNScaleInit {
	case "", BNScaleOne, BNScaleUniform:
	default:
		return fmt.Errorf("model %s: unknown BN scale init %q (--bn-scale-init: one, uniform)", c.Name, c.BNScaleInit)
	}
	if c.RoR < 1 || c.RoR > 3 {
		return fmt.Errorf("model %s: RoR level must be 1, 2 or 3, got %d", c.Name, c.RoR)
	}
	if c.Dropout < 0 || c.Dropout >= 1 {
		return fmt.Errorf("model %s: dropout must be in [0, 1), got %g", c.Name, c.Dropout)
	}
	if c.Dropout > 0 && c.Family != "wrn" {
		return fmt.Errorf("model %s: --dropout is WRN's; for Table 1 use the dropout shortcut", c.Name)
	}
	return nil
}

// UsesOptionA reports whether some shape change of the network goes through
// option A (so that OptionA matters): not in WRN or pre-activation
// bottleneck nets, whose shape changes are 1×1 projections, nor with option
// B or Table 1's conv shortcut.
func (c Config) UsesOptionA() bool {
	return c.Family != "wrn" && !(c.Bottleneck && c.Unit == FullPreact) && !c.ProjectionB && c.Variant != ConvShortcut
}

// Survival returns p_l for units l = 1..L under the configured rule.
func (c Config) Survival(L int) []float64 {
	p := make([]float64, L)
	for i := range p {
		l := i + 1
		switch c.SD {
		case SDLinear:
			p[i] = 1 - float64(l)/float64(L)*(1-c.SDPL)
		case SDUniform:
			p[i] = c.SDPL
		default:
			p[i] = 1
		}
	}
	return p
}

// Presets lists the models `deepres models` shows: the papers' networks.
var Presets = []string{
	"resnet-20", "resnet-32", "resnet-44", "resnet-56", "resnet-110", "resnet-164", "resnet-1202",
	"preact-resnet-110", "preact-resnet-164", "preact-resnet-1001",
	"wrn-16-8", "wrn-28-10", "wrn-40-2", "wrn-40-4", "wrn-58-4",
}
