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
		e.B.BatchNormForwardTraining(y, x, n.Gamma.Value, n.Beta.Value, n.RunMean.Value, n.RunVar.Value, n.saveMean, n.saveInvSD, p)
	} else {
		e.B.BatchNormForwardInference(y, x, n.Gamma.Value, n.Beta.Value, n.RunMean.Value, n.RunVar.Value, e.BN)
	}
	n.x = x
	return y
}

func (n *BatchNorm) Backward(dx, dy ops.Tensor, add bool) {
	if dx == nil {
		panic("layers: BatchNorm.Backward needs dx")
	}
	n.env.B.BatchNormBackward(dx, n.Gamma.Grad, n.Beta.Grad, dy, n.x, n.Gamma.Value, n.saveMean, n.saveInvSD, n.env.BN, add)
}

func (n *BatchNorm) KeepsOutput() bool { return false }
