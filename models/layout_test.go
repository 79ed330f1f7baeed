package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/layers"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opbytes"
)

// TestNHWCMatchesNCHWBitwise trains every variant of the gradient check
// for two steps with NCHW and with NHWC activations (Env.Layout), in every
// recompute mode, from the same weights, batch and stochastic-depth draws,
// and requires their losses, gradients, weights and BN running statistics
// to be bitwise equal: the CPU reference computes each op in logical order
// whatever the layout (cpuref/layout.go). Cases alternate float32 and
// bfloat16 activations and unfused and fused batch norm, so every
// variant meets both of each across the three modes. The NHWC network's
// input is NHWC too, and its ops must receive NHWC activations: every 4-D
// tensor but a float32 conv weight (or its gradient or the cast of it).
func TestNHWCMatchesNCHWBitwise(t *testing.T) {
	k := 0
	for _, tc := range gradCases() {
		for _, mode := range recomputeModes {
			act := []ops.DType{ops.Float32, ops.BFloat16}[k%2]
			fuse := k/2%2 == 1
			k++
			t.Run(tc.name+"/"+mode.String()+"/"+act.String(), func(t *testing.T) {
				cfg := mustParse(t, tc.model)
				if tc.adjust != nil {
					tc.adjust(&cfg)
				}
				const n, size, steps = 4, 8, 2
				b := opbytes.New(cpuref.New(0))
				var nets [2]*Network
				for i, l := range []ops.Layout{ops.NCHW, ops.NHWC} {
					net := newNetWith(t, cfg, b, n, size, func(e *layers.Env) {
						e.Recompute, e.Fuse, e.Act, e.Layout = mode, fuse, act, l
					})
					net.SetTraining(true)
					net.Env.DropoutSeed = 99
					nets[i] = net
				}
				r := rand.New(rand.NewPCG(7, 8))
				bt := randomBatch(t, b, r, n, size, cfg.Classes)
				xh, err := ops.AllocLayout(b, ops.Float32, ops.NHWC, n, 3, size, size)
				if err != nil {
					t.Fatal(err)
				}
				b.Copy(xh, bt.x)
				inputs := [2]batch{bt, {xh, bt.labels, n}}
				for s := 0; s < steps; s++ {
					seed := r.Uint64()
					var losses [2][]float32
					for i, net := range nets {
						if tc.mask != nil {
							for j, u := range net.Units {
								u.Active = tc.mask(j + s)
							}
						} else {
							net.DrawDepth(rand.New(rand.NewPCG(seed, 1)))
						}
						b.Reset()
						meanLoss(t, net, inputs[i], true)
						losses[i] = download(t, b, net.Losses())
						net.Backward()
						net.Step(sgd)
						if i == 1 {
							for op, by := range b.Laid {
								if by[ops.NCHW] > b.Calls[op] || (by[ops.NCHW] > 0 && !weightOp(op, act)) {
									t.Fatalf("step %d: %s got 4-D tensors %v in an NHWC network", s, op, by)
								}
							}
						}
					}
					sameBits(t, s, "losses", losses[0], losses[1])
					sameBits(t, s, "gradients", download(t, b, nets[0].Params.Grads()), download(t, b, nets[1].Params.Grads()))
					sameBits(t, s, "weights", download(t, b, nets[0].Params.Values()), download(t, b, nets[1].Params.Values()))
					for j, buf := range nets[0].Params.Buffers {
						sameBits(t, s, buf.Name, download(t, b, buf.Value), download(t, b, nets[1].Params.Buffers[j].Value))
					}
				}
			})
		}
	}
}

// weightOp says whether op may receive an NCHW 4-D tensor in an NHWC
// network: a float32 conv weight and its gradient are parameters (NCHW
// views of the parameter buffer); in half precision the conv reads its
// NHWC copy, and Copy casts between the two.
func weightOp(op string, act ops.DType) bool {
	switch op {
	case "ConvForward", "ConvBackwardData", "ConvBackwardFilter":
		return act == ops.Float32
	case "Copy":
		return act != ops.Float32
	}
	return false
}

// sameBits requires a and b to be bitwise equal.
func sameBits(t *testing.T, step int, what string, a, b []float32) {
	t.Helper()
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("step %d: %s differ at %d: %v nchw, %v nhwc", step, what, i, a[i], b[i])
		}
	}
}
