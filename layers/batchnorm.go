package layers

import "github.com/deepres/deepres/ops"

// BatchNorm is spatial batch normalisation with the pinned constants of
// docs/design.md (eps 1e-5, momentum 0.1, unbiased running variance).
type BatchNorm struct {
	env                 *Env
	Gamma, Beta         *Param
	RunMean, RunVar     *Buffer
	saveMean, saveInvSD ops.Tensor
	y, x                ops.Tensor
	// fuseReLU: a ReLU follows in the Seq and this batch norm applies it
	// (Seq.pairBNReLU); Backward then reads the output yv for its mask.
	fuseReLU bool
	yv       ops.Tensor
}

// NewBatchNorm registers weight 1, bias 0, running mean 0 and variance 1;
// decay says whether weight decay applies to weight and bias.
func NewBatchNorm(e *Env, ps *ParamSet, name string, c int, decay bool) *BatchNorm {
	s := ops.Shape{c}
	return &BatchNorm{
		env:     e,
		Gamma:   ps.Add(name+".weight", s, Init{InitConst, 1}, decay),
		Beta:    ps.Add(name+".bias", s, Init{InitConst, 0}, decay),
		RunMean: ps.AddBuffer(name+".running_mean", s, 0),
		RunVar:  ps.AddBuffer(name+".running_var", s, 1),
	}
}

func (n *BatchNorm) Setup(in ops.Shape) ops.Shape {
	n.y = n.env.alloc(in)
	// The saved statistics are the layer's own even in a recomputing unit,
	// so that a unit may skip recomputing a BN that ends its branch.
	n.saveMean = n.env.Alloc(in[1])
	n.saveInvSD = n.env.Alloc(in[1])
	return in
}

func (n *BatchNorm) Forward(x ops.Tensor) ops.Tensor {
	e := n.env
	y := e.batchView(n.y, x.Shape()[0])
	if e.Train {
		p := e.BN
		if e.FreezeStats { // batch statistics, running ones left alone
			p.Momentum = 0
		}
		if n.fuseReLU {
			e.B.BatchNormAddReLUForwardTraining(y, x, nil, n.Gamma.Value, n.Beta.Value, n.RunMean.Value, n.RunVar.Value, n.saveMean, n.saveInvSD, p)
		} else {
			e.B.BatchNormForwardTraining(y, x, n.Gamma.Value, n.Beta.Value, n.RunMean.Value, n.RunVar.Value, n.saveMean, n.saveInvSD, p)
		}
	} else {
		// Evaluation: the ops contract has no fused inference op; two passes.
		e.B.BatchNormForwardInference(y, x, n.Gamma.Value, n.Beta.Value, n.RunMean.Value, n.RunVar.Value, e.BN)
		if n.fuseReLU {
			e.B.ReLUForward(y, y)
		}
	}
	n.x, n.yv = x, y
	return y
}

// ForwardAddReLU is the training forward pass fused with a unit's sum and
// ReLU: out = max(BN(x) + z, 0) (Unit's fused path). out may be z or the
// layer's own output buffer (OutBuffer).
func (n *BatchNorm) ForwardAddReLU(out, x, z ops.Tensor) {
	p := n.env.BN
	if n.env.FreezeStats {
		p.Momentum = 0
	}
	n.env.B.BatchNormAddReLUForwardTraining(out, x, z, n.Gamma.Value, n.Beta.Value, n.RunMean.Value, n.RunVar.Value, n.saveMean, n.saveInvSD, p)
	n.x, n.yv = x, out
}

// BackwardAddReLU is ForwardAddReLU's backward pass: dx of the batch
// norm's input and dz of z, both written.
func (n *BatchNorm) BackwardAddReLU(dx, dz, dy ops.Tensor) {
	n.env.B.BatchNormAddReLUBackward(dx, dz, n.Gamma.Grad, n.Beta.Grad, dy, n.yv, n.x, n.Gamma.Value, n.saveMean, n.saveInvSD, n.env.BN, false)
}

// OutBuffer is the layer's output buffer for a batch of n.
func (n *BatchNorm) OutBuffer(batch int) ops.Tensor { return n.env.batchView(n.y, batch) }

func (n *BatchNorm) Backward(dx, dy ops.Tensor, add bool) {
	if dx == nil {
		panic("layers: BatchNorm.Backward needs dx")
	}
	if n.fuseReLU {
		n.env.B.BatchNormAddReLUBackward(dx, nil, n.Gamma.Grad, n.Beta.Grad, dy, n.yv, n.x, n.Gamma.Value, n.saveMean, n.saveInvSD, n.env.BN, add)
		return
	}
	n.env.B.BatchNormBackward(dx, n.Gamma.Grad, n.Beta.Grad, dy, n.x, n.Gamma.Value, n.saveMean, n.saveInvSD, n.env.BN, add)
}

// KeepsOutput: a batch norm applying the ReLU after it reads its output.
func (n *BatchNorm) KeepsOutput() bool { return n.fuseReLU }
