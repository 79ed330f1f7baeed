package runcheck

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepres/deepres/checkpoint"
	"gorgonia.org/tensor"
)

// recorder is a testing.TB that keeps what failed instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) { r.errs = append(r.errs, format) }
func (r *recorder) Helper()                           {}

// SameCheckpoints passes equal runs and reports one differing value.
func TestSameCheckpoints(t *testing.T) {
	write := func(v float32) string {
		dir := t.TempDir()
		w := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, v}))
		if err := checkpoint.Write(filepath.Join(dir, "last.safetensors"), map[string]*tensor.Dense{"w": w}, nil); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a, b, c := write(2), write(2), write(3)
	SameCheckpoints(t, a, b, "a", "b")
	r := &recorder{TB: t}
	SameCheckpoints(r, a, c, "a", "c")
	if len(r.errs) == 0 || !strings.Contains(strings.Join(r.errs, "\n"), "values differ") {
		t.Errorf("a differing value went unreported: %q", r.errs)
	}
}
