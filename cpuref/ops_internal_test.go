package cpuref

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepres/deepres/ops"
)

// tensorOf allocates a tensor of the given shape holding vals.
func tensorOf(t *testing.T, b *Backend, vals []float32, shape ...int) ops.Tensor {
	t.Helper()
	x, err := b.Alloc(shape...)
	if err != nil {
		t.Fatal(err)
	}
	b.CopyIn(x, vals)
	return x
}

// nanTensor allocates a tensor filled with NaN, to catch elements an op fails to write.
func nanTensor(t *testing.T, b *Backend, shape ...int) ops.Tensor {
	t.Helper()
	x, err := b.Alloc(shape...)
	if err != nil {
		t.Fatal(err)
	}
	b.Fill(x, float32(math.NaN()))
	return x
}

func assertEqual(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
	}
}

// TestBatchNormTwoElements works one channel of two values, x = (1, 3), by
// hand: mean 2, biased variance 1, unbiased 2.
func TestBatchNormTwoElements(t *testing.T) {
	b := New(2)
	p := ops.DefaultBatchNorm
	x := tensorOf(t, b, []float32{1, 3}, 2, 1, 1, 1)
	gamma := tensorOf(t, b, []float32{2}, 1)
	beta := tensorOf(t, b, []float32{0.5}, 1)
	runMean := tensorOf(t, b, []float32{0}, 1)
	runVar := tensorOf(t, b, []float32{1}, 1)
	saveMean, saveInv := nanTensor(t, b, 1), nanTensor(t, b, 1)
	y := nanTensor(t, b, 2, 1, 1, 1)
	b.BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInv, p)
	inv := 1 / math.Sqrt(1+1e-5)
	assertEqual(t, "y", b.Data(y), []float32{float32(0.5 - 2*inv), float32(0.5 + 2*inv)}, 1e-6)
	assertEqual(t, "saveMean", b.Data(saveMean), []float32{2}, 0)
	assertEqual(t, "saveInvStd", b.Data(saveInv), []float32{float32(inv)}, 1e-7)
	assertEqual(t, "runMean", b.Data(runMean), []float32{0.2}, 1e-7)       // 0.9·0 + 0.1·2
	assertEqual(t, "runVar", b.Data(runVar), []float32{0.9 + 0.1*2}, 1e-7) // unbiased variance 2

	// Backward with dy = (1, 0): x̂ = (−inv, inv), dbeta = 1, dgamma = Σ dy·x̂ = −inv,
	// dx = gamma·inv/M·(M·dy − dbeta − x̂·dgamma) with M = 2.
	dy := tensorOf(t, b, []float32{1, 0}, 2, 1, 1, 1)
	dx := nanTensor(t, b, 2, 1, 1, 1)
	dgamma, dbeta := nanTensor(t, b, 1), nanTensor(t, b, 1)
	b.BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInv, p, false)
	xhat := []float64{-inv, inv}
	wantDx := make([]float32, 2)
	for i, g := range []float64{1, 0} {
		wantDx[i] = float32(2 * inv / 2 * (2*g - 1 - xhat[i]*(-inv)))
	}
	assertEqual(t, "dbeta", b.Data(dbeta), []float32{1}, 0)
	assertEqual(t, "dgamma", b.Data(dgamma), []float32{float32(-inv)}, 1e-6)
	assertEqual(t, "dx", b.Data(dx), wantDx, 1e-6)

	yi := nanTensor(t, b, 2, 1, 1, 1)
	b.BatchNormForwardInference(yi, x, gamma, beta, runMean, runVar, p)
	rv := float64(b.Data(runVar)[0])
	want := []float32{float32(2*(1-0.2)/math.Sqrt(rv+1e-5) + 0.5), float32(2*(3-0.2)/math.Sqrt(rv+1e-5) + 0.5)}
	assertEqual(t, "inference y", b.Data(yi), want, 1e-6)
}

// TestBatchNormGradient checks BatchNormBackward against central finite
// differences of L = Σ dy·y in float64 terms, on a random (3,2,2,3) input.
func TestBatchNormGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := New(2)
	p := ops.DefaultBatchNorm
	shape := []int{3, 2, 2, 3}
	x := randTensor(t, b, r, shape...)
	dy := randTensor(t, b, r, shape...)
	gamma := randTensor(t, b, r, 2)
	beta := randTensor(t, b, r, 2)
	rm, rv, sm, si := nanTensor(t, b, 2), nanTensor(t, b, 2), nanTensor(t, b, 2), nanTensor(t, b, 2)
	y := nanTensor(t, b, shape...)
	loss := func() float64 {
		b.Fill(rm, 0)
		b.Fill(rv, 1)
		b.BatchNormForwardTraining(y, x, gamma, beta, rm, rv, sm, si, p)
		var l float64
		for i, v := range b.Data(y) {
			l += float64(v) * float64(b.Data(dy)[i])
		}
		return l
	}
	loss()
	dx, dg, db := nanTensor(t, b, shape...), nanTensor(t, b, 2), nanTensor(t, b, 2)
	b.BatchNormBackward(dx, dg, db, dy, x, gamma, sm, si, p, false)
	for name, pair := range map[string][2]ops.Tensor{"x": {x, dx}, "gamma": {gamma, dg}, "beta": {beta, db}} {
		in, grad := b.Data(pair[0]), b.Data(pair[1])
		for i := range in {
			const h = 1e-2
			orig := in[i]
			in[i] = orig + h
			up := loss()
			in[i] = orig - h
			down := loss()
			in[i] = orig
			num := (up - down) / (2 * h)
			if math.Abs(num-float64(grad[i])) > 2e-3*(1+math.Abs(num)) {
				t.Errorf("d%s[%d] = %v, finite difference %v", name, i, grad[i], num)
			}
		}
	}
}

// TestSGDNesterov steps one weight by hand: w 1, dw 0.5, v 0.2, lr 0.1,
// momentum 0.9, wd 0.01: g = 0.51, v = 0.69, step = 0.51 + 0.9·0.69 = 1.131.
func TestSGDNesterov(t *testing.T) {
	for _, tc := range []struct {
		nesterov bool
		wantW    float32
	}{{true, 1 - 0.1*1.131}, {false, 1 - 0.1*0.69}} {
		b := New(1)
		w := tensorOf(t, b, []float32{1}, 1)
		dw := tensorOf(t, b, []float32{0.5}, 1)
		v := tensorOf(t, b, []float32{0.2}, 1)
		b.SGDUpdate(w, dw, v, ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: tc.nesterov})
		assertEqual(t, fmt.Sprintf("nesterov %v: v", tc.nesterov), b.Data(v), []float32{0.69}, 1e-7)
		assertEqual(t, fmt.Sprintf("nesterov %v: w", tc.nesterov), b.Data(w), []float32{tc.wantW}, 1e-7)
		assertEqual(t, "dw unchanged", b.Data(dw), []float32{0.5}, 0)
	}
}

// TestSoftmaxCrossEntropyTwoClasses: logits (0, ln 3) give softmax (1/4, 3/4).
func TestSoftmaxCrossEntropyTwoClasses(t *testing.T) {
	b := New(2)
	l3 := float32(math.Log(3))
	logits := tensorOf(t, b, []float32{0, l3, 2, 2}, 2, 2)
	labels := tensorOf(t, b, []float32{0, 1}, 2)
	losses, correct, dl := nanTensor(t, b, 2), nanTensor(t, b, 2), nanTensor(t, b, 2, 2)
	b.SoftmaxCrossEntropy(dl, losses, correct, logits, labels)
	assertEqual(t, "losses", b.Data(losses), []float32{float32(math.Log(4)), float32(math.Log(2))}, 1e-6)
	// Sample 1 ties: the first arg-max (class 0) is not its label.
	assertEqual(t, "correct", b.Data(correct), []float32{0, 0}, 0)
	assertEqual(t, "dlogits", b.Data(dl), []float32{(0.25 - 1) / 2, 0.75 / 2, 0.5 / 2, (0.5 - 1) / 2}, 1e-7)

	b.CopyIn(labels, []float32{1, 0})
	b.SoftmaxCrossEntropy(nil, losses, correct, logits, labels)
	assertEqual(t, "correct with labels (1, 0)", b.Data(correct), []float32{1, 1}, 0)

	for _, bad := range []float32{2, -1, 0.5, float32(math.NaN())} {
		b.CopyIn(labels, []float32{0, bad})
		mustPanic(t, "label", func() { b.SoftmaxCrossEntropy(nil, losses, correct, logits, labels) })
	}
}

// TestShortcutA checks option A on a (1,1,4,4) input into (1,2,2,2), and on
// odd sizes (1,1,5,3) into (1,2,3,2), PyTorch's x[:, :, ::2, ::2].
func TestShortcutA(t *testing.T) {
	b := New(2)
	for _, tc := range []struct {
		h, w   int
		want   []float32
		picked []int
	}{
		{4, 4, []float32{0, 2, 8, 10, 0, 0, 0, 0}, []int{0, 2, 8, 10}},
		{5, 3, []float32{0, 2, 6, 8, 12, 14, 0, 0, 0, 0, 0, 0}, []int{0, 2, 6, 8, 12, 14}},
	} {
		ho, wo := (tc.h+1)/2, (tc.w+1)/2
		vals := make([]float32, tc.h*tc.w)
		for i := range vals {
			vals[i] = float32(i)
		}
		x := tensorOf(t, b, vals, 1, 1, tc.h, tc.w)
		y := nanTensor(t, b, 1, 2, ho, wo)
		b.ShortcutAForward(y, x)
		assertEqual(t, "y", b.Data(y), tc.want, 0)

		dy := tensorOf(t, b, append(make([]float32, 0), tc.want...), 1, 2, ho, wo)
		dx := nanTensor(t, b, 1, 1, tc.h, tc.w)
		b.ShortcutABackward(dx, dy, false)
		wantDx := make([]float32, tc.h*tc.w)
		for _, i := range tc.picked {
			wantDx[i] = float32(i)
		}
		assertEqual(t, "dx", b.Data(dx), wantDx, 0)
		b.ShortcutABackward(dx, dy, true)
		for i := range wantDx {
			wantDx[i] *= 2
		}
		assertEqual(t, "dx added", b.Data(dx), wantDx, 0)
	}
}

// TestLinearAndPool compares the linear layer and global pooling with
// loops written out here, on random data, from NaN-filled outputs.
func TestLinearAndPool(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := New(3)
	n, in, out := 5, 7, 3
	x, w, dy := randTensor(t, b, r, n, in), randTensor(t, b, r, out, in), randTensor(t, b, r, n, out)
	y, dx, dw := nanTensor(t, b, n, out), nanTensor(t, b, n, in), nanTensor(t, b, out, in)
	b.LinearForward(y, x, w)
	b.LinearBackwardData(dx, dy, w, false)
	b.LinearBackwardWeight(dw, dy, x)
	X, W, DY := b.Data(x), b.Data(w), b.Data(dy)
	wantY, wantDx, wantDw := make([]float32, n*out), make([]float32, n*in), make([]float32, out*in)
	for s := range n {
		for o := range out {
			for j := range in {
				wantY[s*out+o] += X[s*in+j] * W[o*in+j]
				wantDx[s*in+j] += DY[s*out+o] * W[o*in+j]
				wantDw[o*in+j] += DY[s*out+o] * X[s*in+j]
			}
		}
	}
	assertEqual(t, "linear y", b.Data(y), wantY, 1e-5)
	assertEqual(t, "linear dx", b.Data(dx), wantDx, 1e-5)
	assertEqual(t, "linear dw", b.Data(dw), wantDw, 1e-5)

	px := randTensor(t, b, r, 2, 3, 2, 2)
	py := nanTensor(t, b, 2, 3)
	b.GlobalAvgPoolForward(py, px)
	pd := b.Data(px)
	wantPool := make([]float32, 6)
	for i := range wantPool {
		wantPool[i] = (pd[4*i] + pd[4*i+1] + pd[4*i+2] + pd[4*i+3]) / 4
	}
	assertEqual(t, "pool y", b.Data(py), wantPool, 1e-6)
	pdx := nanTensor(t, b, 2, 3, 2, 2)
	b.GlobalAvgPoolBackward(pdx, py, false)
	for i, v := range b.Data(pdx) {
		if v != b.Data(py)[i/4]/4 {
			t.Fatalf("pool dx[%d] = %v, want %v", i, v, b.Data(py)[i/4]/4)
		}
	}
}

// TestElementwise checks the element-wise ops from NaN-filled outputs and
// in place (y aliasing x), against values computed here.
func TestElementwise(t *testing.T) {
	b := New(2)
	xs := []float32{-2, -0.5, 0, 0.5, 3}
	x := tensorOf(t, b, xs, 5)
	y := nanTensor(t, b, 5)
	b.ReLUForward(y, x)
	assertEqual(t, "relu", b.Data(y), []float32{0, 0, 0, 0.5, 3}, 0)
	dx := nanTensor(t, b, 5)
	b.ReLUBackward(dx, x, y, false) // dy = x
	assertEqual(t, "relu backward", b.Data(dx), []float32{0, 0, 0, 0.5, 3}, 0)
	b.ReLUBackward(dx, x, y, true)
	assertEqual(t, "relu backward added", b.Data(dx), []float32{0, 0, 0, 1, 6}, 0)

	b.SigmoidForward(y, x)
	want := make([]float32, 5)
	for i, v := range xs {
		want[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	assertEqual(t, "sigmoid", b.Data(y), want, 1e-7)
	b.SigmoidBackward(dx, x, y, false)
	for i, s := range want {
		want[i] = xs[i] * s * (1 - s)
	}
	assertEqual(t, "sigmoid backward", b.Data(dx), want, 1e-6)

	z := nanTensor(t, b, 5)
	b.AddTensor(z, x, 2, 0)
	assertEqual(t, "AddTensor beta 0", b.Data(z), []float32{-4, -1, 0, 1, 6}, 0)
	b.AddTensor(z, x, 1, -1) // in place: z = x − z = −x
	assertEqual(t, "AddTensor", b.Data(z), []float32{2, 0.5, 0, -0.5, -3}, 0)
	b.Mul(z, z, x, 0) // −x²
	assertEqual(t, "Mul", b.Data(z), []float32{-4, -0.25, 0, -0.25, -9}, 0)
	b.Mul(z, x, x, 1) // x² − x² = 0
	assertEqual(t, "Mul beta 1", b.Data(z), []float32{0, 0, 0, 0, 0}, 0)

	bias := tensorOf(t, b, []float32{1, -1}, 2)
	yb := tensorOf(t, b, []float32{0, 0, 0, 0, 5, 5, 5, 5}, 2, 2, 2, 1)
	b.AddBias(yb, bias)
	assertEqual(t, "AddBias", b.Data(yb), []float32{1, 1, -1, -1, 6, 6, 4, 4}, 0)
	db := nanTensor(t, b, 2)
	b.BiasBackward(db, yb)
	assertEqual(t, "BiasBackward", b.Data(db), []float32{14, 6}, 0)
}

func TestDropoutMask(t *testing.T) {
	b := New(3)
	const n, p, seed = 50000, 0.3, 7
	m := nanTensor(t, b, n)
	b.DropoutMask(m, p, seed)
	kept := 0
	for i, v := range b.Data(m) {
		keep := ops.DropoutKeep(seed, i, p)
		if keep && v != 1/(1-float32(p)) || !keep && v != 0 {
			t.Fatalf("mask[%d] = %v, keep %v", i, v, keep)
		}
		if keep {
			kept++
		}
	}
	if f := float64(kept) / n; math.Abs(f-(1-p)) > 0.01 {
		t.Errorf("kept fraction %v, want about %v", f, 1-p)
	}
}

func TestReduce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, threads := range []int{1, 4} {
		b := New(threads)
		x := randTensor(t, b, r, 3*reduceChunk+17)
		dst := nanTensor(t, b, 1)
		for _, red := range []ops.Reduction{ops.ReduceSum, ops.ReduceSumSquares, ops.ReduceSumAbs} {
			var want float64
			for _, v := range b.Data(x) {
				switch red {
				case ops.ReduceSum:
					want += float64(v)
				case ops.ReduceSumSquares:
					want += float64(v) * float64(v)
				case ops.ReduceSumAbs:
					want += math.Abs(float64(v))
				}
			}
			b.Reduce(dst, x, red)
			if got := float64(b.Data(dst)[0]); math.Abs(got-want) > 1e-6*(1+math.Abs(want)) {
				t.Errorf("threads %d: %v = %v, want %v", threads, red, got, want)
			}
		}
	}
}

// TestTensors covers Alloc, View, copies and Free, and the misuse panics.
func TestTensors(t *testing.T) {
	b := New(2)
	if b.Name() != "cpu (2 threads)" {
		t.Errorf("Name = %q", b.Name())
	}
	before := b.Allocs()
	x, err := b.Alloc(2, 3)
	if err != nil || b.Allocs() != before+1 {
		t.Fatalf("Alloc: err %v, Allocs %d → %d", err, before, b.Allocs())
	}
	assertEqual(t, "zero-filled", b.Data(x), make([]float32, 6), 0)
	b.CopyIn(x, []float32{0, 1, 2, 3, 4, 5})
	v := b.View(x, 2, 2, 2)
	if !v.Shape().Equal(ops.Shape{2, 2}) {
		t.Fatalf("view shape %v", v.Shape())
	}
	vv := b.View(v, 1, 3)
	b.Fill(vv, 9)
	assertEqual(t, "write through view of view", b.Data(x), []float32{0, 1, 2, 9, 9, 9}, 0)
	out := make([]float32, 4)
	if err := b.CopyOut(out, v); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "CopyOut", out, []float32{2, 9, 9, 9}, 0)
	y, _ := b.Alloc(3, 2)
	b.Copy(y, x)
	assertEqual(t, "Copy", b.Data(y), b.Data(x), 0)

	other := New(1)
	o, _ := other.Alloc(2, 3)
	z, _ := b.Alloc(2, 2)
	for _, tc := range []struct {
		name, msg string
		f         func()
	}{
		{"nil", "nil tensor", func() { b.ReLUForward(nil, x) }},
		{"foreign", "another cpuref backend", func() { b.ReLUForward(o, x) }},
		{"shape", "(2,2) does not match (2,3)", func() { b.ReLUForward(z, x) }},
		{"view range", "outside", func() { b.View(x, 3, 2, 2) }},
		{"free view", "is a view", func() { b.Free(v) }},
		{"copy length", "CopyIn", func() { b.CopyIn(x, make([]float32, 5)) }},
		{"conv channels", "ConvForward", func() { b.ConvForward(z, x, z, ops.Conv(1, 0)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := mustPanic(t, tc.name, tc.f)
			if !strings.HasPrefix(msg, "cpuref: ") || !strings.Contains(msg, tc.msg) {
				t.Errorf("panic %q, want a cpuref message containing %q", msg, tc.msg)
			}
		})
	}
	b.Free(nil)
	b.Free(y)
	mustPanic(t, "use after Free", func() { b.Fill(y, 1) })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// mustPanic runs f and returns its panic message, failing the test if f returns.
func mustPanic(t *testing.T, name string, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Errorf("%s: no panic", name)
		}
		msg = fmt.Sprint(r)
	}()
	f()
	return ""
}

func TestPeakBytes(t *testing.T) {
	b := New(1)
	x, _ := b.Alloc(10)
	y, _ := b.Alloc(20)
	b.Free(x)
	z, _ := b.Alloc(5)
	if b.PeakBytes() != 4*30 {
		t.Errorf("peak %d bytes, want 120", b.PeakBytes())
	}
	b.Free(y)
	b.Free(z)
	w, _ := b.Alloc(25)
	_ = w
	if b.PeakBytes() != 4*30 {
		t.Errorf("peak %d bytes after frees, want 120", b.PeakBytes())
	}
}

// TestPositiveMask compares ReLUBackward's branch-free test with v > 0 on
// the special values and on a sweep of bit patterns of every exponent.
func TestPositiveMask(t *testing.T) {
	vals := []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), -float32(math.NaN()), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32}
	for u := uint64(0); u < 1<<32; u += 65521 { // a prime step: every exponent, varied mantissas
		vals = append(vals, math.Float32frombits(uint32(u)))
	}
	vals = append(vals, math.Float32frombits(0x7F800001), math.Float32frombits(0x7F7FFFFF), math.Float32frombits(0xFFFFFFFF))
	for _, v := range vals {
		want := uint32(0)
		if v > 0 {
			want = ^uint32(0)
		}
		if got := positiveMask(v); got != want {
			t.Fatalf("positiveMask(%v, bits %#x) = %#x, want %#x", v, math.Float32bits(v), got, want)
		}
	}
}
