package train

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Schedule gives the learning rate at a step of a run of total steps.
type Schedule struct {
	Kind string // "constant", "step", "multistep", "cosine"
	// Fractions (step) are the fractions of the run at which the rate is
	// divided by 10; Steps (multistep) the iterations; Epochs (multistep with
	// an "e" suffix) the epochs, turned into steps once the epoch length is known.
	Fractions []float64
	Steps     []int
	Epochs    []int
	// Factor multiplies the rate at each milestone of step and multistep
	// (0: 0.1, the ÷10 of He et al. and Huang et al.; Zagoruyko and
	// Komodakis use 0.2).
	Factor float64 `json:",omitempty"`
}

// ParseSchedule reads constant | step:F1,F2 | multistep:I1,I2 (iterations)
// or multistep:E1e,E2e (epochs) | cosine; step and multistep take an
// optional "@FACTOR" suffix, the rate's multiplier at each milestone
// (default 0.1), e.g. multistep:59e,119e,159e@0.2.
func ParseSchedule(s string) (Schedule, error) {
	kind, args, _ := strings.Cut(s, ":")
	sc := Schedule{Kind: kind}
	if a, f, ok := strings.Cut(args, "@"); ok {
		if kind != "step" && kind != "multistep" {
			return sc, fmt.Errorf("schedule %q takes no decay factor", kind)
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > 0 && v < 1) {
			return sc, fmt.Errorf("schedule %s: decay factor %q is not a number in (0, 1)", kind, f)
		}
		args, sc.Factor = a, v
	}
	switch kind {
	case "constant", "cosine":
		if args != "" {
			return sc, fmt.Errorf("schedule %q takes no arguments", kind)
		}
		return sc, nil
	case "step", "multistep":
		if args == "" {
			return sc, fmt.Errorf("schedule %s needs milestones, e.g. step:0.5,0.75 or multistep:32000,48000 or multistep:30e,35e", kind)
		}
	default:
		return sc, fmt.Errorf("unknown schedule %q: want constant, step:F1,F2, multistep:I1,I2 (or E1e,E2e for epochs) or cosine", s)
	}
	for _, a := range strings.Split(args, ",") {
		switch {
		case kind == "step":
			f, err := strconv.ParseFloat(a, 64)
			if err != nil || !(f > 0 && f < 1) { // NaN fails both
				return sc, fmt.Errorf("schedule step: %q is not a fraction in (0, 1)", a)
			}
			sc.Fractions = append(sc.Fractions, f)
		case strings.HasSuffix(a, "e"):
			e, err := strconv.Atoi(strings.TrimSuffix(a, "e"))
			if err != nil || e < 1 {
				return sc, fmt.Errorf("schedule multistep: %q is not an epoch count like 30e", a)
			}
			sc.Epochs = append(sc.Epochs, e)
		default:
			i, err := strconv.Atoi(a)
			if err != nil || i < 1 {
				return sc, fmt.Errorf("schedule multistep: %q is not an iteration number", a)
			}
			sc.Steps = append(sc.Steps, i)
		}
	}
	for _, l := range [][]float64{sc.Fractions, floats(sc.Steps), floats(sc.Epochs)} {
		for i := 1; i < len(l); i++ {
			if l[i] <= l[i-1] {
				return sc, fmt.Errorf("schedule %s: milestones must increase, got %s", kind, args)
			}
		}
	}
	return sc, nil
}

func (s Schedule) String() string {
	var parts []string
	for _, f := range s.Fractions {
		parts = append(parts, strconv.FormatFloat(f, 'g', -1, 64))
	}
	for _, i := range s.Steps {
		parts = append(parts, strconv.Itoa(i))
	}
	for _, e := range s.Epochs {
		parts = append(parts, strconv.Itoa(e)+"e")
	}
	if len(parts) == 0 {
		return s.Kind
	}
	f := ""
	if s.Factor != 0 {
		f = "@" + strconv.FormatFloat(s.Factor, 'g', -1, 64)
	}
	return s.Kind + ":" + strings.Join(parts, ",") + f
}

// LR is the rate at step (0-based) of total steps with stepsPerEpoch, from
// base, after warm-up: warmupLR for the first warmup steps (He et al.'s
// ResNet-110/1202 recipe: 0.01 until training error is below 80%, which
// they reach in about 400 iterations), then the schedule. A milestone of E
// epochs takes effect after E completed epochs, at the first step of
// 1-based epoch E+1: Stochastic_Depth main.lua's rate drops when
// epochCounter (1-based) reaches 250, which is 249e here.
func (s Schedule) LR(base float64, step, total, stepsPerEpoch int, warmup int, warmupLR float64) float64 {
	if step < warmup {
		return warmupLR
	}
	lr := base
	drop := func(at int) {
		switch {
		case step < at:
		case s.Factor == 0:
			lr /= 10
		default:
			lr *= s.Factor // as wide-residual-networks train.lua: lr * learningRateDecayRatio
		}
	}
	switch s.Kind {
	case "step":
		for _, f := range s.Fractions {
			drop(int(math.Round(f * float64(total))))
		}
	case "multistep":
		for _, i := range s.Steps {
			drop(i)
		}
		for _, e := range s.Epochs {
			drop(e * stepsPerEpoch)
		}
	case "cosine":
		lr = base * 0.5 * (1 + math.Cos(math.Pi*float64(step)/float64(total)))
	}
	return lr
}

func floats(v []int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
