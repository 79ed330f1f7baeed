package train

import (
	"fmt"
	"math"
	"strings"
)

// StepsPerEpoch is the number of mini-batches in an epoch of n images.
func StepsPerEpoch(n, batch int) int { return (n + batch - 1) / batch }

// TotalSteps is the run's length in iterations for perEpoch steps an
// epoch; an --epochs so large that the count overflows is an error.
func (c Config) TotalSteps(perEpoch int) (int, error) {
	if c.Steps > 0 {
		return c.Steps, nil
	}
	if perEpoch < 1 || c.Epochs > math.MaxInt32/perEpoch {
		return 0, fmt.Errorf("--epochs %d of %d steps each is more than %d steps", c.Epochs, perEpoch, math.MaxInt32)
	}
	return c.Epochs * perEpoch, nil
}

// LengthIssues describes settings that do nothing in a run of total
// steps: a warm-up as long as the run, milestones of the schedule at or
// after its end. Empty strings mean none.
func (c Config) LengthIssues(total, perEpoch int) (warmup, milestones string) {
	if c.WarmupSteps >= total {
		warmup = fmt.Sprintf("the warm-up (%d steps) is as long as the run (%d steps)", c.WarmupSteps, total)
	}
	var late []string
	for _, s := range c.Schedule.Steps {
		if s >= total {
			late = append(late, fmt.Sprint(s))
		}
	}
	for _, e := range c.Schedule.Epochs {
		if int64(e)*int64(perEpoch) >= int64(total) {
			late = append(late, fmt.Sprintf("%de (step %d)", e, int64(e)*int64(perEpoch)))
		}
	}
	if len(late) > 0 {
		milestones = fmt.Sprintf("the schedule's milestones %s are at or after the run's end (%d steps)", strings.Join(late, ", "), total)
	}
	return warmup, milestones
}
