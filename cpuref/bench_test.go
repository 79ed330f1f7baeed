package cpuref_test

import (
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opstest"
)

func BenchmarkOps(b *testing.B) {
	opstest.Benchmarks(b, func() ops.Backend { return cpuref.New(0) })
}
