package layers

import "fmt"

// Recompute says what a residual unit keeps between its forward and its
// backward pass; what it does not keep it recomputes first thing in its
// backward pass (Unit.recompute). Results do not change: on a deterministic
// backend they are bitwise those of StoreAll.
type Recompute int

const (
	// StoreAll keeps every activation the backward pass reads: four per
	// basic unit, as PyTorch eager does. The fastest.
	StoreAll Recompute = iota
	// RecomputeBN keeps the convolutions' outputs and the unit's output and
	// recomputes batch norms, activations and dropout from them: no
	// convolution runs twice. Three activations per original unit, two per
	// pre-activation unit.
	RecomputeBN
	// RecomputeUnit keeps only the unit's output and reruns the unit's
	// inside, convolutions included (but a branch's last conv or BN): one
	// activation per unit.
	RecomputeUnit
	// RecomputeAuto is not a mode but a request to callers (train.New): the
	// first of off, bn and unit whose network fits in the device's memory.
	// An Env never holds it.
	RecomputeAuto
)

var recomputeNames = []string{"off", "bn", "unit", "auto"}

// String is the mode's name on the command line: off, bn, unit or auto.
func (r Recompute) String() string {
	if r < 0 || int(r) >= len(recomputeNames) {
		return fmt.Sprintf("Recompute(%d)", int(r))
	}
	return recomputeNames[r]
}

// ParseRecompute reads a mode name.
func ParseRecompute(s string) (Recompute, error) {
	for i, n := range recomputeNames {
		if s == n {
			return Recompute(i), nil
		}
	}
	return 0, fmt.Errorf("recompute mode %q: want off, bn, unit or auto", s)
}

// MarshalText and UnmarshalText keep the name in saved run configurations.
func (r Recompute) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r *Recompute) UnmarshalText(b []byte) error {
	v, err := ParseRecompute(string(b))
	if err == nil {
		*r = v
	}
	return err
}
