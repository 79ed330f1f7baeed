package opstest

import (
	"errors"
	"math"
	"os"
	osexec "os/exec"
	"strings"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
)

// faulty is cpuref with one bug planted, to show that the suite catches it.
type faulty struct {
	ops.Backend
	fault string
}

// faults name each planted bug, the subtest that must fail because of it
// and what its failure must say.
var faults = []struct{ fault, mustFail, mustSay string }{
	{"conv_forward_skips_last", "ConvForward/hand", "not written (still NaN)"},
	{"conv_data_ignores_add", "ConvBackwardData/add", "with add=true"},
	{"conv_filter_3pc_off", "ConvBackwardFilter/fd", "finite difference"},
	{"bn_backward_dx_5pc_off", "BatchNormBackward/fd", "finite difference"},
	{"bn_backward_dgamma_0.1pc_off", "BatchNormBackward/random", "dgamma:"},
	{"bn_momentum_0.2", "BatchNormForwardTraining/hand", "runMean:"},
	{"relu_backward_changes_dy", "ReLUBackward/hand", "dy (an input):"},
	{"relu_no_panic", "Misuse/ReLUForward", "did not panic"},
	{"sgd_ignores_nesterov", "SGDUpdate/hand", "w:"},
	{"dropout_other_seed", "DropoutMask/hand", "mask:"},
	{"view_copies", "View/writes_through", "parent after Fill(view)"},
	{"sync_error", "Memory", "device lost"},
}

// TestFaultsAreCaught runs the suite in a child process once per planted
// bug and checks that it fails, in the expected subtest.
func TestFaultsAreCaught(t *testing.T) {
	if os.Getenv("OPSTEST_FAULT") != "" {
		t.Skip("in a child process")
	}
	for _, f := range faults {
		t.Run(f.fault, func(t *testing.T) {
			cmd := osexec.Command(os.Args[0], "-test.run=^TestFaultyBackend$", "-test.short")
			cmd.Env = append(os.Environ(), "OPSTEST_FAULT="+f.fault)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a backend with fault %s", f.fault)
			}
			for _, want := range []string{"--- FAIL: TestFaultyBackend/" + f.mustFail, f.mustSay} {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestFaultyBackend(t *testing.T) {
	fault := os.Getenv("OPSTEST_FAULT")
	if fault == "" {
		t.Skip("runs as TestFaultsAreCaught's child only")
	}
	b := cpuref.New(1)
	defer b.Close()
	Run(t, &faulty{Backend: b, fault: fault}, Options{Short: true})
}

// Unwrap lets the suite accept cpuref's panic messages from the wrapper.
func (f *faulty) Unwrap() ops.Backend { return f.Backend }

// scale multiplies x by a in place.
func (f *faulty) scale(x ops.Tensor, a float32) { f.Backend.AddTensor(x, x, a-1, 1) }

func (f *faulty) ConvForward(y, x, w ops.Tensor, p ops.ConvParams) {
	f.Backend.ConvForward(y, x, w, p)
	if f.fault == "conv_forward_skips_last" {
		n := y.Shape().Len()
		f.Backend.Fill(f.Backend.View(y, n-1, 1), float32(math.NaN()))
	}
}

func (f *faulty) ConvBackwardData(dx, dy, w ops.Tensor, p ops.ConvParams, add bool) {
	f.Backend.ConvBackwardData(dx, dy, w, p, add && f.fault != "conv_data_ignores_add")
}

func (f *faulty) ConvBackwardFilter(dw, dy, x ops.Tensor, p ops.ConvParams) {
	f.Backend.ConvBackwardFilter(dw, dy, x, p)
	if f.fault == "conv_filter_3pc_off" {
		f.scale(dw, 1.03)
	}
}

func (f *faulty) BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams) {
	if f.fault == "bn_momentum_0.2" {
		p.Momentum = 0.2
	}
	f.Backend.BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd, p)
}

func (f *faulty) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd ops.Tensor, p ops.BatchNormParams, add bool) {
	f.Backend.BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd, p, add)
	switch f.fault {
	case "bn_backward_dx_5pc_off":
		f.scale(dx, 1.05)
	case "bn_backward_dgamma_0.1pc_off":
		f.scale(dgamma, 1.001)
	}
}

func (f *faulty) ReLUForward(y, x ops.Tensor) {
	if f.fault == "relu_no_panic" {
		defer func() { _ = recover() }()
	}
	f.Backend.ReLUForward(y, x)
}

func (f *faulty) ReLUBackward(dx, dy, y ops.Tensor, add bool) {
	f.Backend.ReLUBackward(dx, dy, y, add)
	if f.fault == "relu_backward_changes_dy" {
		f.scale(dy, 2)
	}
}

func (f *faulty) SGDUpdate(w, dw, v ops.Tensor, p ops.SGDParams) {
	if f.fault == "sgd_ignores_nesterov" {
		p.Nesterov = false
	}
	f.Backend.SGDUpdate(w, dw, v, p)
}

func (f *faulty) DropoutMask(mask ops.Tensor, p float32, seed uint64) {
	if f.fault == "dropout_other_seed" {
		seed++
	}
	f.Backend.DropoutMask(mask, p, seed)
}

func (f *faulty) View(t ops.Tensor, offset int, shape ...int) ops.Tensor {
	v := f.Backend.View(t, offset, shape...)
	if f.fault != "view_copies" {
		return v
	}
	c, err := f.Backend.Alloc(shape...)
	if err != nil {
		panic(err)
	}
	f.Backend.Copy(c, v)
	return c
}

func (f *faulty) Sync() error {
	if err := f.Backend.Sync(); err != nil || f.fault != "sync_error" {
		return err
	}
	return errors.New("device lost")
}
