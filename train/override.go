package train

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Override is a change of the learning-rate settings made when a run is
// resumed (deepres train --resume DIR --override lr=0.05), typically to
// continue a diverged run from its last good checkpoint. It is recorded in
// the configuration (so in every later checkpoint) and in the metrics line
// of the epoch it falls in. A run with an override is no longer
// bit-identical to one trained without a break: the rates differ from
// Step on.
type Override struct {
	Step  int    `json:"step"` // the first step trained with the new value
	Flag  string `json:"flag"` // one of Overridable
	Value string `json:"value"`
}

// Overridable are the train flags --override may change on --resume: the
// learning rate, its schedule and warm-up. Everything else defines the run.
var Overridable = []string{"lr", "lr-schedule", "warmup-steps", "warmup-lr"}

// ApplyOverride sets flag to value in c from step on and records it.
func (c *Config) ApplyOverride(flag, value string, step int) error {
	positive := func() (float64, error) {
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			return 0, fmt.Errorf("--override %s: want a positive finite number, got %q", flag, value)
		}
		return v, nil
	}
	var err error
	switch flag {
	case "lr":
		c.LR, err = positive()
	case "warmup-lr":
		c.WarmupLR, err = positive()
	case "warmup-steps":
		n, perr := strconv.Atoi(value)
		if perr != nil || n < 0 {
			return fmt.Errorf("--override warmup-steps: want an iteration count >= 0, got %q", value)
		}
		c.WarmupSteps = n
	case "lr-schedule":
		var sc Schedule
		if sc, err = ParseSchedule(value); err != nil {
			return fmt.Errorf("--override lr-schedule: %w", err)
		}
		c.Schedule = sc
	default:
		return fmt.Errorf("--override %s: only %s may change on --resume (the rest defines the run)", flag, strings.Join(Overridable, ", "))
	}
	if err != nil {
		return err
	}
	c.Overrides = append(c.Overrides, Override{Step: step, Flag: flag, Value: value})
	return nil
}

// SplitOverrides reads --override values: KEY=VALUE pairs, several per
// value separated by commas (a comma inside a value, as in
// lr-schedule=step:0.5,0.75, stays with its value).
func SplitOverrides(args []string) ([][2]string, error) {
	var out [][2]string
	for _, a := range args {
		for _, part := range strings.Split(a, ",") {
			k, v, ok := strings.Cut(part, "=")
			switch {
			case ok && slices.Contains(Overridable, k):
				out = append(out, [2]string{k, v})
			case !ok && len(out) > 0 && part != "":
				out[len(out)-1][1] += "," + part
			default:
				return nil, fmt.Errorf("--override: want KEY=VALUE with KEY one of %s, got %q", strings.Join(Overridable, ", "), part)
			}
		}
	}
	return out, nil
}
