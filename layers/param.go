package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/deepres/deepres/ops"
)

// InitKind says how a tensor is initialised (docs/design.md, "Pinned numerical semantics").
type InitKind int

const (
	InitConst      InitKind = iota // every element Init.Value
	InitNormal                     // N(0, Init.Value²)
	InitUniform                    // U(−Init.Value, Init.Value)
	InitUniformPos                 // U(0, Init.Value)
)

// Init is an initialisation rule.
type Init struct {
	Kind  InitKind
	Value float64
}

// HeInit is He et al.'s rule for a conv weight (out, in, kh, kw):
// N(0, sqrt(2/(kh·kw·out))), as in their released code (resnet-pre-act.lua
// and fb.resnet.torch models/*.lua, ConvInit: n = kW·kH·nOutputPlane).
func HeInit(w ops.Shape) Init {
	return Init{InitNormal, math.Sqrt(2 / float64(w[2]*w[3]*w[0]))}
}

// HeInitFanIn is the same rule over the fan-in, N(0, sqrt(2/(kh·kw·in))):
// nninit.kaiming with gain 'relu' in Stochastic_Depth ResidualDrop.lua, and
// MSRinit in wide-residual-networks models/utils.lua (n = kW·kH·nInputPlane).
func HeInitFanIn(w ops.Shape) Init {
	return Init{InitNormal, math.Sqrt(2 / float64(w[2]*w[3]*w[1]))}
}

// Param is one learnable tensor with its gradient. Value and Grad are views
// into the network's flat parameter and gradient buffers.
type Param struct {
	Name  string // PyTorch state_dict name, e.g. "layer1.0.conv1.weight"
	Shape ops.Shape
	Init  Init
	Decay bool // weight decay applies
	Value ops.Tensor
	Grad  ops.Tensor
	off   int // offset in the flat buffers
}

// Buffer is a non-learnable tensor saved with the weights (BN running statistics).
type Buffer struct {
	Name  string
	Shape ops.Shape
	Init  float32
	Value ops.Tensor
}

// ParamSet collects a network's parameters and buffers in build order, then
// carves them out of single allocations so that one SGDUpdate steps them all
// and one Fill zeroes a run of them.
type ParamSet struct {
	Params  []*Param
	Buffers []*Buffer
	names   map[string]bool
	values  ops.Tensor // flat: every parameter
	grads   ops.Tensor
	bound   bool
}

func (ps *ParamSet) claim(name string) {
	if ps.bound {
		panic("layers: parameter " + name + " added after Bind")
	}
	if ps.names == nil {
		ps.names = map[string]bool{}
	}
	if ps.names[name] {
		panic("layers: duplicate parameter name " + name)
	}
	ps.names[name] = true
}

// Add registers a parameter.
func (ps *ParamSet) Add(name string, shape ops.Shape, init Init, decay bool) *Param {
	ps.claim(name)
	p := &Param{Name: name, Shape: shape.Clone(), Init: init, Decay: decay}
	ps.Params = append(ps.Params, p)
	return p
}

// AddBuffer registers a buffer filled with init.
func (ps *ParamSet) AddBuffer(name string, shape ops.Shape, init float32) *Buffer {
	ps.claim(name)
	b := &Buffer{Name: name, Shape: shape.Clone(), Init: init}
	ps.Buffers = append(ps.Buffers, b)
	return b
}

// Count is the number of learnable scalars.
func (ps *ParamSet) Count() int {
	n := 0
	for _, p := range ps.Params {
		n += p.Shape.Len()
	}
	return n
}

// Bind allocates the flat buffers and points every Param and Buffer at its
// part. Parameters are laid out in registration order.
func (ps *ParamSet) Bind(e *Env) {
	if ps.bound {
		panic("layers: ParamSet bound twice")
	}
	ps.bound = true
	n := ps.Count()
	if n == 0 {
		return
	}
	ps.values = e.Alloc(n)
	ps.grads = e.Alloc(n)
	if e.Err() != nil {
		return
	}
	// Parameters with weight decay come first, those without after, each
	// group in registration order: two runs, so SGD needs at most two calls.
	off := 0
	for _, decay := range []bool{true, false} {
		for _, p := range ps.Params {
			if p.Decay != decay {
				continue
			}
			p.off = off
			p.Value = e.B.View(ps.values, off, p.Shape...)
			p.Grad = e.B.View(ps.grads, off, p.Shape...)
			off += p.Shape.Len()
		}
	}
	for _, b := range ps.Buffers {
		b.Value = e.Alloc(b.Shape...)
	}
}

// Decayed is how many leading elements of the flat buffers belong to
// parameters with weight decay; the rest have none.
func (ps *ParamSet) Decayed() int {
	n := 0
	for _, p := range ps.Params {
		if p.Decay {
			n += p.Shape.Len()
		}
	}
	return n
}

// Values and Grads are the flat buffers holding every parameter and gradient.
func (ps *ParamSet) Values() ops.Tensor { return ps.values }
func (ps *ParamSet) Grads() ops.Tensor  { return ps.grads }

// Offset is p's position in the flat buffers.
func (p *Param) Offset() int { return p.off }

// Initialize draws every parameter from its rule with r and resets buffers,
// on the host in registration order, so a seed gives the same weights on
// every backend.
func (ps *ParamSet) Initialize(b ops.Backend, r *rand.Rand) {
	for _, p := range ps.Params {
		host := make([]float32, p.Shape.Len())
		for i := range host {
			switch p.Init.Kind {
			case InitConst:
				host[i] = float32(p.Init.Value)
			case InitNormal:
				host[i] = float32(r.NormFloat64() * p.Init.Value)
			case InitUniform:
				host[i] = float32((2*r.Float64() - 1) * p.Init.Value)
			case InitUniformPos:
				host[i] = float32(r.Float64() * p.Init.Value)
			default:
				panic(fmt.Sprintf("layers: unknown init kind %d", p.Init.Kind))
			}
		}
		b.CopyIn(p.Value, host)
	}
	for _, buf := range ps.Buffers {
		b.Fill(buf.Value, buf.Init)
	}
	if ps.grads != nil {
		b.Fill(ps.grads, 0)
	}
}
