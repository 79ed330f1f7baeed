package cudnn

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/deepres/deepres/internal/devmem"
	"github.com/deepres/deepres/internal/gputest"
	"github.com/deepres/deepres/ops"
)

// exHandle returns a handle on device 0's primary context, current on the
// locked calling thread, with device memory from devmem, and whether the
// device is the simulator; it skips (fails under DEEPRES_REQUIRE_GPU=1)
// where there is no driver or GPU.
func exHandle(t *testing.T) (*Handle, bool) {
	t.Helper()
	loadOrSkip(t)
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	if err := devmem.Init(); err != nil {
		gputest.Skip(t, "no CUDA driver for device memory: %v", err)
	}
	if err := devmem.MakeCurrent(); err != nil {
		t.Fatal(err)
	}
	h, err := NewHandle(nil, FP32)
	if err != nil {
		gputest.Skip(t, "no usable GPU for cuDNN: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	name, err := devmem.DeviceName()
	if err != nil {
		t.Fatal(err)
	}
	return h, strings.HasPrefix(name, "cudasim")
}

// dev uploads b, freed at the end of the test.
func dev(t *testing.T, b []byte) Ptr {
	t.Helper()
	p, err := devmem.Alloc(max(len(b), 4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devmem.Free(p) })
	if err := devmem.Put(p, b); err != nil {
		t.Fatal(err)
	}
	return p
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func getF32(t *testing.T, p Ptr, n int) []float32 {
	t.Helper()
	b := make([]byte, 4*n)
	if err := devmem.Get(b, p); err != nil {
		t.Fatal(err)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// nhwcHalf stores v (logical NCHW order) as float16 in NHWC order.
func nhwcHalf(v []float32, s Shape4) []byte {
	b := make([]byte, 2*len(v))
	for n := range s.N {
		for c := range s.C {
			for i := range s.H * s.W {
				binary.LittleEndian.PutUint16(b[2*(((n*s.H*s.W)+i)*s.C+c):], ops.F16Bits(v[(n*s.C+c)*s.H*s.W+i]))
			}
		}
	}
	return b
}

// getNHWCHalf reads float16 NHWC data back in logical NCHW order, widened.
func getNHWCHalf(t *testing.T, p Ptr, s Shape4) []float32 {
	t.Helper()
	b := make([]byte, 2*s.N*s.C*s.H*s.W)
	if err := devmem.Get(b, p); err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/2)
	for n := range s.N {
		for c := range s.C {
			for i := range s.H * s.W {
				v[(n*s.C+c)*s.H*s.W+i] = ops.F16Value(binary.LittleEndian.Uint16(b[2*(((n*s.H*s.W)+i)*s.C+c):]))
			}
		}
	}
	return v
}

// The fused calls through the wrappers, on float16 NHWC data, against the
// unfused float NCHW calls (BatchNormForwardTraining, BatchNormBackward) on
// the same values with the addition and ReLU computed here in float. Under
// the simulator y, dx and dz must be the float results rounded once to
// float16, bit for bit, the statistics and parameter gradients equal. On a
// GPU, whose fused kernel sums in another order, within a bound (a model,
// not a measurement): float16 outputs within 2⁻¹⁰·|want| (one rounding)
// plus 10⁻³ of the tensor's largest |want| (the reductions' order), float
// results within 10⁻⁴ of their largest. Catches a wrapper that passes the
// layout, type, z, y, dy, dz or the spaces wrongly.
func TestBatchNormExMatchesUnfused(t *testing.T) {
	h, sim := exHandle(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ops_ := range []BatchNormOps{BNAddReLU, BNReLU} {
		s := Shape4{N: 3, C: 8, H: 4, W: 5, Type: Half, Layout: NHWC}
		f := Shape4{N: s.N, C: s.C, H: s.H, W: s.W}
		n, c := s.N*s.C*s.H*s.W, s.C
		half := func() []float32 { // values of float16
			v := make([]float32, n)
			for i := range v {
				v[i] = ops.F16Value(ops.F16Bits(float32(rng.Float64()*4 - 2)))
			}
			return v
		}
		vec := func(lo, hi float64) []float32 {
			v := make([]float32, c)
			for i := range v {
				v[i] = float32(lo + (hi-lo)*rng.Float64())
			}
			return v
		}
		x, z, dy := half(), half(), half()
		g, b, rm, rv := vec(0.5, 1.5), vec(-0.5, 0.5), vec(-1, 1), vec(0.5, 2)
		sp, err := h.BatchNormExSizes(s, ops_)
		if err != nil {
			t.Fatalf("%v: BatchNormExSizes: %v", ops_, err)
		}
		buf := func(fwd bool) BatchNormExBuffers {
			ws := sp.BackwardWorkspace
			if fwd {
				ws = sp.ForwardWorkspace
			}
			return BatchNormExBuffers{Workspace: dev(t, make([]byte, ws)), WorkspaceSize: ws}
		}
		reserve := dev(t, make([]byte, sp.Reserve))
		fb, bb := buf(true), buf(false)
		fb.Reserve, fb.ReserveSize, bb.Reserve, bb.ReserveSize = reserve, sp.Reserve, reserve, sp.Reserve
		X, Y, DY, DX := dev(t, nhwcHalf(x, s)), dev(t, make([]byte, 2*n)), dev(t, nhwcHalf(dy, s)), dev(t, make([]byte, 2*n))
		var Z, DZ Ptr
		if ops_ == BNAddReLU {
			Z, DZ = dev(t, nhwcHalf(z, s)), dev(t, make([]byte, 2*n))
		}
		G, B, RM, RV := dev(t, f32Bytes(g)), dev(t, f32Bytes(b)), dev(t, f32Bytes(rm)), dev(t, f32Bytes(rv))
		SM, SI, DG, DB := dev(t, make([]byte, 4*c)), dev(t, make([]byte, 4*c)), dev(t, make([]byte, 4*c)), dev(t, make([]byte, 4*c))
		if err := h.BatchNormForwardTrainingEx(ops_, Y, X, Z, s, G, B, RM, RV, SM, SI, 0.1, 1e-5, fb); err != nil {
			t.Fatalf("%v: %v", ops_, err)
		}
		if err := h.BatchNormBackwardEx(ops_, DX, DZ, DG, DB, DY, X, Y, s, G, B, SM, SI, 1e-5, bb); err != nil {
			t.Fatalf("%v: %v", ops_, err)
		}
		// The float reference.
		Xf, Yf, DXf := dev(t, f32Bytes(x)), dev(t, make([]byte, 4*n)), dev(t, make([]byte, 4*n))
		RMf, RVf, SMf, SIf := dev(t, f32Bytes(rm)), dev(t, f32Bytes(rv)), dev(t, make([]byte, 4*c)), dev(t, make([]byte, 4*c))
		DGf, DBf := dev(t, make([]byte, 4*c)), dev(t, make([]byte, 4*c))
		if err := h.BatchNormForwardTraining(Yf, Xf, f, G, B, RMf, RVf, SMf, SIf, 0.1, 1e-5); err != nil {
			t.Fatal(err)
		}
		bn := getF32(t, Yf, n)
		want, dyr := make([]float32, n), make([]float32, n)
		pos := 0
		for i, v := range bn {
			if ops_ == BNAddReLU {
				v += z[i]
			}
			if v > 0 {
				want[i], dyr[i] = v, dy[i]
				pos++
			}
		}
		if pos == 0 || pos == n {
			t.Fatalf("%v: %d of %d activations positive: the ReLU is not exercised", ops_, pos, n)
		}
		if err := h.BatchNormBackward(DXf, DGf, DBf, dev(t, f32Bytes(dyr)), Xf, f, G, SMf, SIf, 1e-5, false); err != nil {
			t.Fatal(err)
		}
		same := func(what string, got, want []float32, round bool) {
			t.Helper()
			scale := 0.0
			for _, w := range want {
				scale = max(scale, math.Abs(float64(w)))
			}
			for i := range want {
				w := want[i]
				if round {
					w = ops.F16Value(ops.F16Bits(w))
				}
				if sim && math.Float32bits(got[i]) != math.Float32bits(w) {
					t.Fatalf("%v %s[%d] = %g, unfused float path %g (rounded %g)", ops_, what, i, got[i], want[i], w)
				}
				tol := 1e-4 * scale
				if round {
					tol = math.Ldexp(math.Abs(float64(want[i])), -10) + 1e-3*scale
				}
				if d := math.Abs(float64(got[i]) - float64(want[i])); !sim && !(d <= tol) {
					t.Fatalf("%v %s[%d] = %g, unfused float path %g: |difference| %g above %g", ops_, what, i, got[i], want[i], d, tol)
				}
			}
		}
		same("y", getNHWCHalf(t, Y, s), want, true)
		same("dx", getNHWCHalf(t, DX, s), getF32(t, DXf, n), true)
		if ops_ == BNAddReLU {
			same("dz", getNHWCHalf(t, DZ, s), dyr, true)
		}
		same("running mean", getF32(t, RM, c), getF32(t, RMf, c), false)
		same("running var", getF32(t, RV, c), getF32(t, RVf, c), false)
		same("saved mean", getF32(t, SM, c), getF32(t, SMf, c), false)
		same("saved inv std", getF32(t, SI, c), getF32(t, SIf, c), false)
		same("dgamma", getF32(t, DG, c), getF32(t, DGf, c), false)
		same("dbeta", getF32(t, DB, c), getF32(t, DBf, c), false)
	}
	if err := devmem.Sync(); err != nil {
		t.Fatal(err)
	}
}

// What cuDNN fuses (float16, packed NHWC, C a multiple of 4 for BN+ReLU) the
// size query answers; the rest is ErrNotSupported, for the caller to fall
// back from; BN alone runs on any type and layout. On a GPU, the refusals
// that are the simulator's own choice (cudnn/bnex.c: bfloat16, and float
// with the addition, pass the real cuDNN's host-side checks) are logged
// with the real answer, not required. z given or missing against ops panics.
func TestBatchNormExSizesRefuse(t *testing.T) {
	h, sim := exHandle(t)
	ok := Shape4{N: 2, C: 8, H: 3, W: 3, Type: Half, Layout: NHWC}
	for _, c := range []struct {
		s      Shape4
		ops    BatchNormOps
		err    bool
		simOwn bool // a refusal the API reference and the measurements do not make
	}{
		{ok, BNAddReLU, false, false},
		{ok, BNReLU, false, false},
		{ok, BN, false, false},
		{Shape4{N: 2, C: 6, H: 3, W: 3, Type: Half, Layout: NHWC}, BNAddReLU, false, false},   // C % 4 only for BN+ReLU
		{Shape4{N: 2, C: 8, H: 3, W: 3, Type: Half}, BNAddReLU, true, false},                  // NCHW
		{Shape4{N: 2, C: 8, H: 3, W: 3, Type: Float, Layout: NHWC}, BNReLU, true, false},      // float
		{Shape4{N: 2, C: 6, H: 3, W: 3, Type: Half, Layout: NHWC}, BNReLU, true, false},       // C % 4
		{Shape4{N: 2, C: 8, H: 3, W: 3, Type: BFloat16, Layout: NHWC}, BNAddReLU, true, true}, // bfloat16
		{Shape4{N: 2, C: 8, H: 3, W: 3, Type: Float, Layout: NHWC}, BNAddReLU, true, true},    // float
		{Shape4{N: 2, C: 6, H: 3, W: 3, Type: BFloat16}, BN, false, false},                    // BN: the unfused rules
		{Shape4{N: 2, C: 6, H: 3, W: 3, Type: Float, Layout: NHWC}, BN, false, false},         // BN: the unfused rules
	} {
		sp, err := h.BatchNormExSizes(c.s, c.ops)
		if !sim && c.simOwn {
			t.Logf("the simulator refuses %+v, %v; this cuDNN %d answers %+v, %v", c.s, c.ops, Version(), sp, err)
			continue
		}
		if c.err != (err != nil) || (err != nil && !errors.Is(err, ErrNotSupported)) {
			t.Errorf("BatchNormExSizes(%+v, %v) = %+v, %v; want ErrNotSupported %v", c.s, c.ops, sp, err, c.err)
		}
		if sim && err == nil && c.ops != BN && (sp.ForwardWorkspace == 0 || sp.Reserve == 0) {
			t.Errorf("BatchNormExSizes(%+v, %v) = %+v: the simulator asks for a workspace and a reserve space", c.s, c.ops, sp)
		}
	}
	for _, c := range []struct {
		ops BatchNormOps
		z   Ptr
	}{{BNAddReLU, 0}, {BNReLU, 64}, {BN, 64}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "cudnn: ") {
					t.Errorf("%v with z %#x: recovered %v, want a cudnn: panic", c.ops, c.z, r)
				}
			}()
			h.BatchNormForwardTrainingEx(c.ops, 8, 8, c.z, ok, 8, 8, 8, 8, 8, 8, 0.1, 1e-5, BatchNormExBuffers{})
		}()
	}
}
