package opbytes_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opbytes"
)

var tensorType = reflect.TypeOf((*ops.Tensor)(nil)).Elem()

// Every method of ops.Backend is either counted (a row in Roles with one
// role per tensor argument) or listed in NotOps: an op added to the
// contract (a fused BN-add-ReLU, say) fails here until its bytes are
// counted, instead of going uncounted.
func TestEveryBackendMethodHasRoles(t *testing.T) {
	seen := map[string]bool{}
	// ops.Backend's methods, and the optional ops.LossScaler's (float16
	// loss scaling, issue 22), which Counter counts too.
	var methods []reflect.Method
	for _, it := range []reflect.Type{reflect.TypeOf((*ops.Backend)(nil)).Elem(), reflect.TypeOf((*ops.LossScaler)(nil)).Elem()} {
		for i := 0; i < it.NumMethod(); i++ {
			methods = append(methods, it.Method(i))
		}
	}
	for _, m := range methods {
		seen[m.Name] = true
		tensors := 0
		for j := 0; j < m.Type.NumIn(); j++ {
			if m.Type.In(j) == tensorType {
				tensors++
			}
		}
		roles, counted := opbytes.Roles[m.Name]
		switch {
		case counted && opbytes.NotOps[m.Name]:
			t.Errorf("%s is both counted and in NotOps", m.Name)
		case counted && len(roles) != tensors:
			t.Errorf("%s has %d tensor arguments but %d roles in opbytes.Roles", m.Name, tensors, len(roles))
		case !counted && !opbytes.NotOps[m.Name]:
			t.Errorf("ops.Backend.%s is not counted: give it a row in opbytes.Roles (or NotOps, if it moves no device data) and a method in opbytes.Counter", m.Name)
		}
	}
	for name := range opbytes.Roles {
		if !seen[name] {
			t.Errorf("opbytes.Roles has %s, which ops.Backend and ops.LossScaler lack", name)
		}
	}
	for name := range opbytes.NotOps {
		if !seen[name] {
			t.Errorf("opbytes.NotOps has %s, which ops.Backend lacks", name)
		}
	}
}

// Each counted op, called once through a Counter, adds under its own name
// the bytes of every one of its tensors (overwriting, so each once; RW
// ones twice).
func TestEveryOpCounted(t *testing.T) {
	s := &opbytes.Shapes{}
	c := opbytes.New(s)
	cv := reflect.ValueOf(c)
	for name, roles := range opbytes.Roles {
		m := cv.MethodByName(name)
		if !m.IsValid() {
			t.Errorf("opbytes.Counter has no method %s", name)
			continue
		}
		c.Reset()
		var want int64
		args := make([]reflect.Value, m.Type().NumIn())
		k := 0
		for j := range args {
			in := m.Type().In(j)
			if in != tensorType {
				args[j] = reflect.Zero(in) // add false, beta 0: every output overwritten
				continue
			}
			// Distinct sizes, so that a tensor counted in another's place
			// shows; option A's shortcut takes (N,C,H,W) and (N,K,H/2,W/2).
			shape := []int{2, 3, 4, 4 + k}
			if strings.HasPrefix(name, "ShortcutA") {
				shape = [][]int{{2, 6, 2, 2}, {2, 3, 4, 4}}[(k+len(name))%2]
			}
			x, _ := s.Alloc(shape...)
			args[j] = reflect.ValueOf(&x).Elem()
			n := ops.TensorBytes(x)
			switch roles[k] {
			case opbytes.RSub: // the elements at the small side's (H,W) of the first C channels
				n = 4 * 2 * 3 * 2 * 2
			case opbytes.RW:
				n *= 2
			}
			want += n
			k++
		}
		m.Call(args)
		if c.Calls[name] != 1 || c.Bytes[name] != want || c.Total() != want {
			t.Errorf("%s: %d calls, %d bytes under its name, %d in all; want 1 call, %d bytes", name, c.Calls[name], c.Bytes[name], c.Total(), want)
		}
	}
}

// A tiny network's step by hand, on the CPU reference (which checks every
// shape), against a count made by hand: element counts per tensor, times
// 4 bytes.
func TestTinyStepHandCount(t *testing.T) {
	c := opbytes.New(cpuref.New(1))
	a := func(shape ...int) ops.Tensor {
		x, err := c.Alloc(shape...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	x := a(2, 3, 4, 4)            // 96
	params := a(108 + 4 + 4 + 40) // conv w, gamma, beta, fc w: 156
	grads, mom := a(156), a(156)
	w := c.View(params, 0, 4, 3, 3, 3)
	gamma, beta := c.View(params, 108, 4), c.View(params, 112, 4)
	fc := c.View(params, 116, 10, 4)
	dw := c.View(grads, 0, 4, 3, 3, 3)
	dgamma, dbeta := c.View(grads, 108, 4), c.View(grads, 112, 4)
	dfc := c.View(grads, 116, 10, 4)
	y, dy := a(2, 4, 4, 4), a(2, 4, 4, 4) // 128 each
	runMean, runVar, saveMean, saveInv := a(4), a(4), a(4), a(4)
	pooled, dpooled := a(2, 4), a(2, 4)
	logits, dlogits := a(2, 10), a(2, 10)
	losses, correct, labels := a(2), a(2), a(2)
	sc, dsc := a(2, 6, 2, 2), a(2, 3, 4, 4) // option A: 48, 96
	c.Fill(params, 0.1)                     // not the step: counted, then cleared
	c.Reset()

	cp := ops.ConvParams{StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
	bp := ops.BatchNormParams{Eps: 1e-5, Momentum: 0.1}
	c.ConvForward(y, x, w, cp)                                                            // 128 + 96 + 108 = 332
	c.BatchNormForwardTraining(y, y, gamma, beta, runMean, runVar, saveMean, saveInv, bp) // 128 + 128 + 4 + 4 + 8 + 8 + 4 + 4 = 288
	c.ReLUForward(y, y)                                                                   // 128 + 128 = 256
	c.GlobalAvgPoolForward(pooled, y)                                                     // 8 + 128 = 136
	c.LinearForward(logits, pooled, fc)                                                   // 20 + 8 + 40 = 68
	c.SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels)                       // 20 + 2 + 2 + 20 + 2 = 46
	c.LinearBackwardData(dpooled, dlogits, fc, false)                                     // 8 + 20 + 40 = 68
	c.LinearBackwardWeight(dfc, dlogits, pooled)                                          // 40 + 20 + 8 = 68
	c.GlobalAvgPoolBackward(dy, dpooled, false)                                           // 128 + 8 = 136
	c.ReLUBackward(dy, dy, y, false)                                                      // 128 + 128 + 128 = 384
	c.AddTensor(dy, dy, 1, 1)                                                             // dy read and written, dy read: 384
	c.BatchNormBackward(dy, dgamma, dbeta, dy, y, gamma, saveMean, saveInv, bp, false)    // 128 + 4 + 4 + 128 + 128 + 4 + 4 + 4 = 404
	c.ConvBackwardFilter(dw, dy, x, cp)                                                   // 108 + 128 + 96 = 332
	c.ShortcutAForward(sc, x)                                                             // y 48 + x's 2·3·2·2 = 24: 72
	c.ShortcutABackward(dsc, sc, true)                                                    // dx's 24 read and written + dy's 24: 72
	c.ShortcutABackward(dsc, sc, false)                                                   // dx 96 written + 24: 120
	c.SGDUpdate(params, grads, mom, ops.SGDParams{LR: 0.1, Momentum: 0.9})                // 312 + 156 + 312 = 780
	c.Reduce(c.View(losses, 0, 1), losses, ops.ReduceSum)                                 // 1 + 2 = 3
	if err := c.Sync(); err != nil {
		t.Fatal(err)
	}
	const elems = 332 + 288 + 256 + 136 + 68 + 46 + 68 + 68 + 136 + 384 + 384 + 404 + 332 + 72 + 72 + 120 + 780 + 3
	if got := c.Total(); got != 4*elems {
		t.Errorf("tiny step: %d bytes counted, want 4·%d = %d (by op: %v)", got, elems, 4*elems, c.Bytes)
	}
	if got, want := c.Bytes["ShortcutABackward"], int64(4*(72+120)); got != want {
		t.Errorf("ShortcutABackward: %d bytes, want %d", got, want)
	}
}

// half is a tensor of 2-byte storage (what bfloat16 tensors will be).
type half struct{ shape ops.Shape }

func (h half) Shape() ops.Shape { return h.shape }
func (h half) ElemBytes() int   { return 2 }

// The element size comes from the tensor (ops.ElemBytes), not from a
// float32 assumption: 2-byte tensors count half.
func TestElemBytesFromTensor(t *testing.T) {
	c := opbytes.New(&opbytes.Shapes{})
	x, y := half{ops.Shape{2, 3, 4, 4}}, half{ops.Shape{2, 3, 4, 4}}
	c.ReLUForward(y, x)
	c.ReLUBackward(x, y, y, true) // dx accumulated: read and written
	if got, want := c.Total(), int64(2*96*(2+4)); got != want {
		t.Errorf("2-byte tensors: %d bytes, want %d", got, want)
	}
}
