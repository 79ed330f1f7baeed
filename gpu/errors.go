package gpu

import (
	"errors"
	"fmt"

	"github.com/deepres/deepres/internal/dl"
	"github.com/deepres/deepres/ops"
)

var (
	// ErrLibraryNotFound is wrapped when libcuda, cuDNN, cuBLAS or NVRTC
	// cannot be loaded; the message lists every place tried.
	ErrLibraryNotFound = dl.ErrNotFound
	// ErrNoDevice is wrapped when the driver loads but sees no GPU, or the
	// ordinal asked for does not exist.
	ErrNoDevice = errors.New("no CUDA device")
)

// oomError is an allocation failure with the figures a user needs.
func oomError(requested, free, total int64) error {
	return fmt.Errorf("allocating %s on the GPU (%s free of %s): %w; try a smaller --batch-size",
		bytesString(requested), bytesString(free), bytesString(total), ops.ErrOutOfMemory)
}

func bytesString(n int64) string {
	const mib = 1 << 20
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/mib)
}
