package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/deepres/deepres/models"
)

// modelFlags are the flags that define a network, shared by train, init and bench.
type modelFlags struct {
	model, sd, unit, shortcut string
	optionA, initFan, bnScale string
	ror                       int
	dropout                   float64
	classes                   int
	noBNDecay                 bool
	fs                        *pflag.FlagSet
}

func (m *modelFlags) add(fs *pflag.FlagSet) {
	m.fs = fs
	fs.StringVar(&m.model, "model", "", "network: resnet-D, preact-resnet-D or wrn-D-K (see 'deepres models')")
	fs.IntVar(&m.ror, "ror", 1, "RoR shortcut level: 1 (none), 2 (root) or 3 (root + middle)")
	fs.StringVar(&m.sd, "sd", "off", "stochastic depth: off, linear:P_L or uniform:P_L")
	fs.StringVar(&m.unit, "unit", "", "unit variant (Table 2): original, bn-after-add, relu-before-add, relu-only-preact, full-preact")
	fs.StringVar(&m.shortcut, "shortcut", "A", "shortcut (Table 1): A, B, constant:LS,LF, exclusive:BG, shortcut-only:BG, conv, dropout")
	fs.Float64Var(&m.dropout, "dropout", 0, "WRN dropout between the two convs")
	fs.IntVar(&m.classes, "classes", 10, "number of classes (set from the dataset by train)")
	fs.BoolVar(&m.noBNDecay, "no-bn-decay", false, "no weight decay on BN weights and biases (default: decay on every parameter)")
	fs.StringVar(&m.optionA, "option-a", "subsample", "option A's reduction where the stride is 2: subsample (every second pixel, fb.resnet.torch) or avgpool (2x2 average, Stochastic_Depth)")
	fs.StringVar(&m.initFan, "init-fan", "out", "conv init N(0, sqrt(2/n)) with n = k*k*out (out: He's code) or k*k*in (in: Stochastic_Depth, WRN)")
	fs.StringVar(&m.bnScale, "bn-scale-init", "one", "BN weight init: one, or uniform (U(0,1), cudnn.torch's default kept by Stochastic_Depth)")
}

// config turns the flags into a validated model configuration.
func (m *modelFlags) config() (models.Config, error) {
	if m.model == "" {
		return models.Config{}, usagef("--model is required (see 'deepres models')")
	}
	c, err := models.Parse(m.model)
	if err != nil {
		return c, usagef("--model: %v", err)
	}
	c.RoR, c.Dropout, c.Classes, c.NoBNDecay = m.ror, m.dropout, m.classes, m.noBNDecay
	if m.unit != "" {
		c.Unit = models.UnitVariant(m.unit)
	}
	// Validate names the valid values of these three; empty is not one here.
	for _, f := range []struct{ name, v string }{{"option-a", m.optionA}, {"init-fan", m.initFan}, {"bn-scale-init", m.bnScale}} {
		if f.v == "" {
			return c, usagef("--%s: empty value", f.name)
		}
	}
	c.OptionA, c.InitFan, c.BNScaleInit = models.OptionAForm(m.optionA), models.InitFan(m.initFan), models.BNScaleInit(m.bnScale)
	if err := parseSD(&c, m.sd); err != nil {
		return c, err
	}
	if err := parseShortcut(&c, m.shortcut); err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, usageError{err.Error()}
	}
	if typed(m.fs, "option-a") && !c.UsesOptionA() {
		return c, usagef("--option-a: %s has no option-A shortcut (its shape changes go through 1x1 projections)", c.Name)
	}
	return c, nil
}

func parseSD(c *models.Config, s string) error {
	if s == "off" {
		c.SD = models.SDOff
		return nil
	}
	rule, p, ok := strings.Cut(s, ":")
	pl, num := parseFinite(p)
	if !ok || !num || (rule != "linear" && rule != "uniform") {
		return usagef("--sd: want off, linear:P_L or uniform:P_L (e.g. linear:0.5), got %q", s)
	}
	c.SD, c.SDPL = models.SDRule(rule), pl
	return nil
}

func parseShortcut(c *models.Config, s string) error {
	kind, arg, _ := strings.Cut(s, ":")
	num := func(name string, n int) ([]float64, error) {
		parts := strings.Split(arg, ",")
		if len(parts) != n {
			return nil, usagef("--shortcut %s: want %d number(s), got %q", name, n, arg)
		}
		out := make([]float64, n)
		for i, p := range parts {
			v, ok := parseFinite(p)
			if !ok {
				return nil, usagef("--shortcut %s: %q is not a finite number", name, p)
			}
			out[i] = v
		}
		return out, nil
	}
	switch kind {
	case "A":
	case "B":
		c.ProjectionB = true
	case "constant":
		v, err := num(kind, 2)
		if err != nil {
			return err
		}
		c.Variant, c.LambdaShort, c.LambdaBranch = models.ConstantScaling, v[0], v[1]
	case "exclusive", "shortcut-only":
		v, err := num(kind, 1)
		if err != nil {
			return err
		}
		c.Variant, c.GateBias = models.ShortcutVariant(kind), v[0]
	case "conv", "dropout":
		c.Variant = models.ShortcutVariant(kind)
	default:
		return usagef("--shortcut: want A, B, constant:LS,LF, exclusive:BG, shortcut-only:BG, conv or dropout, got %q", s)
	}
	return nil
}

func runModels(args []string) error {
	fs := newFlags("models", "[--json]")
	asJSON := fs.Bool("json", false, "print a JSON list of {name, params, depth, family}")
	if err := parse(fs, args); err != nil {
		return err
	}
	type row struct {
		Name   string `json:"name"`
		Params int    `json:"params"`
		Depth  int    `json:"depth"`
		Family string `json:"family"`
	}
	var rows []row
	for _, name := range models.Presets {
		c, err := models.Parse(name)
		if err != nil {
			return err
		}
		net, err := models.New(c, nil)
		if err != nil {
			return err
		}
		rows = append(rows, row{name, net.Params.Count(), c.Depth, c.Family})
	}
	if *asJSON {
		return printJSON(rows)
	}
	fmt.Printf("%-20s %12s %6s  %s\n", "model", "params", "depth", "family")
	for _, r := range rows {
		fmt.Printf("%-20s %12d %6d  %s\n", r.Name, r.Params, r.Depth, r.Family)
	}
	return nil
}
