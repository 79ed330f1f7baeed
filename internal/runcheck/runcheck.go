// Package runcheck holds what tests of whole training runs share: the
// bitwise comparison of two runs' checkpoints (an interrupted and resumed
// run against an uninterrupted one, a captured run against an eager one).
package runcheck

import (
	"path/filepath"
	"testing"

	"github.com/deepres/deepres/checkpoint"
)

// SameCheckpoints requires the last.safetensors of run folders a and b
// (named as the runs they hold) to be bitwise equal, tensor by tensor.
func SameCheckpoints(t testing.TB, a, b, nameA, nameB string) {
	t.Helper()
	fa, err := checkpoint.Read(filepath.Join(a, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	fb, err := checkpoint.Read(filepath.Join(b, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fa.Tensors) != len(fb.Tensors) {
		t.Fatalf("%d tensors in the %s run's checkpoint, %d in the %s run's", len(fa.Tensors), nameA, len(fb.Tensors), nameB)
	}
	bad := 0
	for name, ta := range fa.Tensors {
		tb, ok := fb.Tensors[name]
		if !ok {
			t.Fatalf("%s is missing from the %s run's checkpoint", name, nameB)
		}
		va, vb := ta.Data().([]float32), tb.Data().([]float32)
		for i := range va {
			if va[i] != vb[i] {
				if bad < 5 {
					t.Errorf("%s[%d]: %s %v, %s %v", name, i, nameA, va[i], nameB, vb[i])
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d values differ between the %s and the %s run", bad, nameA, nameB)
	}
}
