package gpu

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepres/deepres/cpuref"
	"github.com/deepres/deepres/ops"
)

// pair is one tensor on the GPU and its twin on cpuref, same type and data.
type pair struct{ g, c ops.Tensor }

type twins struct {
	t   *testing.T
	g   *Backend
	ref *cpuref.Backend
}

func (w twins) make(d ops.DType, data []float32) pair {
	w.t.Helper()
	g := allocAs(w.t, w.g, d, len(data))
	c, err := ops.AllocAs(w.ref, d, len(data))
	if err != nil {
		w.t.Fatal(err)
	}
	w.g.CopyIn(g, data)
	w.ref.CopyIn(c, data)
	return pair{g, c}
}

// same fails unless both sides hold the same bits (tol 0) or agree
// within tol relative to the reference.
func (w twins) same(what string, p pair, tol float64) {
	w.t.Helper()
	got := download(w.t, w.g, p.g)
	want := make([]float32, len(got))
	if err := w.ref.CopyOut(want, p.c); err != nil {
		w.t.Fatal(err)
	}
	for i := range got {
		if tol == 0 && math.Float32bits(got[i]) != math.Float32bits(want[i]) ||
			tol > 0 && !(math.Abs(float64(got[i]-want[i])) <= tol*math.Abs(float64(want[i]))) {
			w.t.Errorf("%s[%d]: gpu %v, cpuref %v", what, i, got[i], want[i])
			return
		}
	}
}

func randomData(r *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64()) * scale
	}
	return x
}

// TestLossScalerMatchesCPU: the GPU's ops.LossScaler against cpuref's,
// bit for bit (a multiplication and GradScaler's decisions leave no room
// for a difference; SGD's update within 1e-6 relative, the GPU free to fuse
// a multiply-add): ScaleBy and UnscaleCheck on float32 and float16 data
// (products past float16's range become inf on the store), the overflow
// flag set by an inf and by a NaN and never cleared by a clean call,
// SGDUpdateUnlessFound taken and skipped, with a rate and a rate tensor,
// and UpdateScale around its growth interval, after an overflow, and at a
// growth that would overflow float32.
func TestLossScalerMatchesCPU(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	ref := cpuref.New(1)
	defer ref.Close()
	w := twins{t, b, ref}
	r := rand.New(rand.NewPCG(22, 3))
	const n = 1000
	scale := w.make(ops.Float32, []float32{1 << 16})
	for _, d := range []ops.DType{ops.Float32, ops.Float16} {
		x := w.make(d, randomData(r, n, 0.5))
		b.ScaleBy(x.g, scale.g)
		ref.ScaleBy(x.c, scale.c)
		w.same("ScaleBy "+d.String(), x, 0)

		found := w.make(ops.Float32, []float32{0})
		b.UnscaleCheck(x.g, found.g, scale.g)
		ref.UnscaleCheck(x.c, found.c, scale.c)
		w.same("UnscaleCheck "+d.String(), x, 0)
		w.same("UnscaleCheck's found "+d.String(), found, 0)
		if d == ops.Float16 && download(t, b, found.g)[0] != 1 {
			t.Error("float16 products past 65504 stored as inf did not set found")
		}
		for _, bad := range []float32{float32(math.Inf(-1)), float32(math.NaN())} {
			b.Fill(found.g, 0)
			ref.Fill(found.c, 0)
			g := randomData(r, n, 1)
			g[n-1] = bad
			x := w.make(d, g)
			b.UnscaleCheck(x.g, found.g, scale.g)
			ref.UnscaleCheck(x.c, found.c, scale.c)
			w.same("UnscaleCheck with "+d.String()+" "+fmtFloat(bad), x, 0)
			if got := download(t, b, found.g)[0]; got != 1 {
				t.Errorf("UnscaleCheck missed a %v in %v: found %v", bad, d, got)
			}
			clean := w.make(d, randomData(r, n, 1))
			b.UnscaleCheck(clean.g, found.g, scale.g)
			if got := download(t, b, found.g)[0]; got != 1 {
				t.Errorf("a clean UnscaleCheck cleared found: %v", got)
			}
		}
	}

	lr := w.make(ops.Float32, []float32{0.05})
	for _, flagged := range []float32{0, 1} {
		for _, p := range []ops.SGDParams{
			{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4},
			{Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true, LRTensor: lr.g},
		} {
			wt, dw, v := w.make(ops.Float32, randomData(r, n, 1)), w.make(ops.Float32, randomData(r, n, 1)), w.make(ops.Float32, randomData(r, n, 0.1))
			w0, v0 := download(t, b, wt.g), download(t, b, v.g)
			found := w.make(ops.Float32, []float32{flagged})
			b.SGDUpdateUnlessFound(wt.g, dw.g, v.g, found.g, p)
			pc := p
			if p.LRTensor != nil {
				pc.LRTensor = lr.c
			}
			ref.SGDUpdateUnlessFound(wt.c, dw.c, v.c, found.c, pc)
			w.same("SGDUpdateUnlessFound's w", wt, 1e-6)
			w.same("SGDUpdateUnlessFound's v", v, 1e-6)
			unchanged := sameBits(download(t, b, wt.g), w0) < 0 && sameBits(download(t, b, v.g), v0) < 0
			if unchanged != (flagged != 0) {
				t.Errorf("found = %v: w and v unchanged is %v", flagged, unchanged)
			}
		}
	}

	p := ops.DefaultGradScaler
	for _, c := range []struct {
		scale, tracker, found float32
		wantScale, wantTrack  float32
	}{
		{1 << 16, 0, 0, 1 << 16, 1},
		{1 << 16, 1998, 0, 1 << 16, 1999},
		{1 << 16, 1999, 0, 1 << 17, 0},
		{1 << 16, 1999, 1, 1 << 15, 0},
		{1 << 16, 500, 2, 1 << 15, 0},
		{math.MaxFloat32, 1999, 0, math.MaxFloat32, 0},
	} {
		s, tr, f := w.make(ops.Float32, []float32{c.scale}), w.make(ops.Float32, []float32{c.tracker}), w.make(ops.Float32, []float32{c.found})
		b.UpdateScale(s.g, tr.g, f.g, p)
		ref.UpdateScale(s.c, tr.c, f.c, p)
		w.same("UpdateScale's scale", s, 0)
		w.same("UpdateScale's tracker", tr, 0)
		if gs, gt := download(t, b, s.g)[0], download(t, b, tr.g)[0]; gs != c.wantScale || gt != c.wantTrack {
			t.Errorf("UpdateScale from scale %g tracker %g found %g: scale %g tracker %g, want %g and %g",
				c.scale, c.tracker, c.found, gs, gt, c.wantScale, c.wantTrack)
		}
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}

func fmtFloat(v float32) string {
	switch {
	case math.IsNaN(float64(v)):
		return "NaN"
	case math.IsInf(float64(v), 0):
		return "inf"
	}
	return "finite"
}

// scaledStep is a float16 training step reduced to loss scaling's ops: the
// float32 loss gradient (dl, written by the host before each step) scaled,
// cast to a float16 gradient (where a scaled value past 65504 becomes
// inf, as in a real backward), widened to the float32 parameter gradient,
// unscaled and checked, then the skippable SGD update and GradScaler's
// update. Its state lives on the device; nothing reads it back.
type scaledStep struct {
	b                            *Backend
	dl, dlh, g, w, v             ops.Tensor
	scale, tracker, found, input ops.Tensor
}

func newScaledStep(t *testing.T, b *Backend, n int) *scaledStep {
	f := func(n int) ops.Tensor {
		x, err := b.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	s := &scaledStep{b: b, dl: f(n), dlh: allocAs(t, b, ops.Float16, n), g: f(n), w: f(n), v: f(n),
		scale: f(1), tracker: f(1), found: f(1), input: f(n)}
	b.Fill(s.w, 1)
	b.Fill(s.scale, ops.DefaultGradScaler.InitScale)
	return s
}

func (s *scaledStep) run() {
	b := s.b
	b.Fill(s.found, 0)
	b.Copy(s.dl, s.input)
	b.ScaleBy(s.dl, s.scale)
	b.Copy(s.dlh, s.dl) // the float16 backward's gradient
	b.Copy(s.g, s.dlh)  // the float32 parameter gradient
	b.UnscaleCheck(s.g, s.found, s.scale)
	b.SGDUpdateUnlessFound(s.w, s.g, s.v, s.found, ops.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4})
	b.UpdateScale(s.scale, s.tracker, s.found, ops.DefaultGradScaler)
}

// TestLossScaleOverflowEagerAndGraph: float16 loss scaling with an
// injected overflow (a loss gradient of 2 scaled by 2^16 is 131072, past
// float16's 65504: inf in the half gradient), run eagerly and as one
// captured CUDA graph launch per step on the same backend. The
// overflowing step leaves w and v unchanged, halves the scale and
// restarts the tracker; the clean steps move w and count; eager and
// captured states are bitwise equal after every step. Under the simulator,
// whose driver counts what runs, each captured step is one graph launch of
// its 8 nodes (a memset, a copy, six kernels: no host node) and the only
// stream synchronisation is the test's own.
func TestLossScaleOverflowEagerAndGraph(t *testing.T) {
	stats := filepath.Join(t.TempDir(), "stats.json")
	t.Setenv("CUDASIM_STATS", stats)
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	const n = 300
	eager, captured := newScaledStep(t, b, n), newScaledStep(t, b, n)
	if err := b.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	captured.run()
	graph, err := b.EndCapture()
	if err != nil {
		t.Fatal(err)
	}
	defer graph.Close()
	r := rand.New(rand.NewPCG(22, 4))
	state := func(s *scaledStep) [][]float32 {
		return [][]float32{download(t, b, s.w), download(t, b, s.v), download(t, b, s.scale),
			download(t, b, s.tracker), download(t, b, s.found)}
	}
	names := []string{"w", "v", "scale", "tracker", "found"}
	for step, overflow := range []bool{false, false, true, false} {
		in := randomData(r, n, 0.01)
		if overflow {
			in[n/2] = 2
		}
		b.CopyIn(eager.input, in)
		b.CopyIn(captured.input, in)
		before := state(eager)
		eager.run()
		c0 := simCounters(t, stats)
		graph.Launch()
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		if c1 := simCounters(t, stats); c0 != nil {
			if d := c1["graph_launches"] - c0["graph_launches"]; d != 1 {
				t.Errorf("step %d: %d graph launches, want 1", step, d)
			}
			if d := c1["graph_nodes_launched"] - c0["graph_nodes_launched"]; d != 8 {
				t.Errorf("step %d: %d graph nodes ran, want 8", step, d)
			}
			if d := c1["stream_syncs"] - c0["stream_syncs"]; d != 1 {
				t.Errorf("step %d: %d stream synchronisations, want 1 (the test's Sync)", step, d)
			}
		}
		e, c := state(eager), state(captured)
		for k := range e {
			if i := sameBits(c[k], e[k]); i >= 0 {
				t.Errorf("step %d: %s[%d] captured %v, eager %v", step, names[k], i, c[k][i], e[k][i])
			}
		}
		wantScale, wantTrack := before[2][0], before[3][0]+1
		if overflow {
			wantScale, wantTrack = wantScale/2, 0
		}
		if e[2][0] != wantScale || e[3][0] != wantTrack || (e[4][0] != 0) != overflow {
			t.Errorf("step %d (overflow %v): scale %v tracker %v found %v, want %v, %v, found %v",
				step, overflow, e[2][0], e[3][0], e[4][0], wantScale, wantTrack, overflow)
		}
		unchanged := sameBits(e[0], before[0]) < 0 && sameBits(e[1], before[1]) < 0
		if unchanged != overflow {
			t.Errorf("step %d (overflow %v): w and v unchanged is %v", step, overflow, unchanged)
		}
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}

// simCounters reads the simulator's counters (internal/cudasim/README.md:
// the JSON file CUDASIM_STATS names, rewritten at each
// cuStreamSynchronize), or nil where there is none (a real GPU).
func simCounters(t *testing.T, path string) map[string]int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var s struct {
		Counters map[string]int64 `json:"counters"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s.Counters
}
