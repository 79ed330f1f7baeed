package layers

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// Scratch is a stack of temporary buffers for the backward pass. Gradients of
// activations live only while one unit is being differentiated, so a network
// needs a handful of them however deep it is; this is where deepres saves
// most of the memory a framework spends on one gradient per activation.
//
// The slots are allocated at the size of the largest activation by
// Preallocate, when the network is set up, so that running out of memory
// is reported then (Env.Err) and not in the middle of a step; a frame
// deeper than that would get its slots when first taken.
type Scratch struct {
	env   *Env
	size  int // elements per slot, the largest activation of the network
	slots []ops.Tensor
	top   int
}

// Reserve sets the slot size; builders call it with the largest activation.
func (s *Scratch) Reserve(n int) {
	if n > s.size {
		if len(s.slots) > 0 {
			panic("layers: Scratch.Reserve after slots were handed out")
		}
		s.size = n
	}
}

// Slots that Seq.Backward and Unit.Backward take: a sequence's modules pass
// gradients through two alternating slots; a unit takes four for its
// temporaries, around the frame of a sequence inside it; a conv or linear
// layer in it takes up to weightSlots for its half weight copies
// (halfWeight) when activations are half. Depth is the deepest a network
// built of them goes.
const (
	seqFrame  = 2
	unitFrame = 4
)

// Depth is the most slots the network's backward pass holds at once.
func (s *Scratch) Depth() int {
	if s.env.Act != ops.Float32 {
		return unitFrame + seqFrame + weightSlots
	}
	return unitFrame + seqFrame
}

// Preallocate allocates the first n slots (see Reserve for their size).
func (s *Scratch) Preallocate(n int) { s.Frame(n).Done() }

// Frame reserves n slots above the ones in use until Done is called,
// allocating those that do not exist yet. Frames nest like calls: a unit
// takes one for its temporaries, and a sequence inside it takes another
// above.
func (s *Scratch) Frame(n int) Frame {
	f := Frame{s: s, base: s.top, n: n}
	for s.top+n > len(s.slots) {
		s.slots = append(s.slots, s.env.AllocAs(s.env.Act, s.size)) // activation gradients: Env.Act
	}
	s.top += n
	return f
}

// Frame is a set of scratch slots owned by one backward computation.
type Frame struct {
	s       *Scratch
	base, n int
}

// T returns slot i of the frame viewed with the given shape; the contents
// are whatever the slot held last.
func (f Frame) T(i int, shape ops.Shape) ops.Tensor {
	if i < 0 || i >= f.n {
		panic(fmt.Sprintf("layers: scratch slot %d outside a frame of %d", i, f.n))
	}
	if shape.Len() > f.s.size {
		panic(fmt.Sprintf("layers: scratch shape %v exceeds reserved %d elements", shape, f.s.size))
	}
	t := f.s.slots[f.base+i]
	if t == nil { // allocation failed; Env.Err reports it
		return nil
	}
	return f.s.env.B.View(t, 0, shape...)
}

// Done releases the frame; frames must be released in reverse order.
func (f Frame) Done() {
	if f.s.top != f.base+f.n {
		panic("layers: scratch frames released out of order")
	}
	f.s.top = f.base
}
