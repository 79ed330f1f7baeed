package cpuref_test

import (
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops/opstest"
)

func TestConformance(t *testing.T) { opstest.Run(t, cpuref.New(2), opstest.Options{}) }
