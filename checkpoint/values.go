package checkpoint

import (
	"fmt"
	"math"
	"strings"
)

// MaxAbs is the largest magnitude a stored value may have: the square root of
// float32's largest value (about 1.8e19), past which a weight's square, and so
// weight decay's norms and batch norm's variances, overflow to +Inf. No run that
// has not diverged holds such a value, and the trainer writes none (CheckValues).
var MaxAbs = math.Sqrt(math.MaxFloat32)

// CheckValues returns an error naming the tensor and the element when data holds a
// value no deepres checkpoint may hold: NaN, ±Inf, a magnitude over MaxAbs, or a
// negative value in a BN running variance (a name ending in "running_var").
func CheckValues(name string, data []float32) error {
	variance := strings.HasSuffix(name, "running_var")
	for i, v := range data {
		f := float64(v)
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0):
			return fmt.Errorf("tensor %q element %d is %v", name, i, f)
		case math.Abs(f) > MaxAbs:
			return fmt.Errorf("tensor %q element %d is %g, beyond ±%.2g where float32 squares overflow", name, i, v, MaxAbs)
		case variance && f < 0:
			return fmt.Errorf("tensor %q element %d is %g, and a variance cannot be negative", name, i, v)
		}
	}
	return nil
}
