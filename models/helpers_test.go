package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
)

func mustParse(t testing.TB, name string) Config {
	t.Helper()
	c, err := Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// batch holds a generated input and labels on the backend.
type batch struct {
	x, labels ops.Tensor
	n         int
}

func randomBatch(t testing.TB, b ops.Backend, r *rand.Rand, n, size, classes int) batch {
	t.Helper()
	x, err := b.Alloc(n, 3, size, size)
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	host := make([]float32, n*3*size*size)
	for i := range host {
		host[i] = float32(r.NormFloat64())
	}
	b.CopyIn(x, host)
	lab := make([]float32, n)
	for i := range lab {
		lab[i] = float32(r.IntN(classes))
	}
	b.CopyIn(l, lab)
	return batch{x, l, n}
}

func buildNet(t testing.TB, cfg Config, b ops.Backend, maxBatch, size int) *Network {
	t.Helper()
	net, err := New(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.SetupSize(maxBatch, size); err != nil {
		t.Fatal(err)
	}
	net.Init(1)
	return net
}

// meanLoss runs Forward and Loss and returns the mean loss in float64.
func meanLoss(t testing.TB, net *Network, bt batch, grad bool) float64 {
	t.Helper()
	net.Forward(bt.x)
	net.Loss(bt.labels, grad)
	host := make([]float32, bt.n)
	if err := net.Env.B.CopyOut(host, net.Losses()); err != nil {
		t.Fatal(err)
	}
	s := 0.0
	for _, v := range host {
		s += float64(v)
	}
	return s / float64(bt.n)
}

func download(t testing.TB, b ops.Backend, x ops.Tensor) []float32 {
	t.Helper()
	host := make([]float32, x.Shape().Len())
	if err := b.CopyOut(host, x); err != nil {
		t.Fatal(err)
	}
	return host
}

func newCPU() *cpuref.Backend { return cpuref.New(0) }

func finite(xs []float32) bool {
	for _, v := range xs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

var sgd = ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true}
