package cpuref

import (
	"fmt"

	"github.com/deepres/deepres/ops"
)

// geometry checks the shapes of a convolution y = x ⋆ w and returns its
// geometry; it panics, naming op and the shapes, on any mismatch.
func geometry(op string, y, x, w *tensor, p ops.ConvParams) (n, k int, g convGeom) {
	n, c, h, wd := nchw(op, "x", x)
	k, cw, kh, kw := nchw(op, "w", w)
	if c != cw {
		panic(fmt.Sprintf("cpuref: %s: x %v has %d channels, w %v expects %d", op, x.shape, c, w.shape, cw))
	}
	if p.StrideH < 1 || p.StrideW < 1 || p.PadH < 0 || p.PadW < 0 {
		panic(fmt.Sprintf("cpuref: %s: bad parameters %+v (stride >= 1, padding >= 0)", op, p))
	}
	ho := (h+2*p.PadH-kh)/p.StrideH + 1
	wo := (wd+2*p.PadW-kw)/p.StrideW + 1
	if h+2*p.PadH < kh || wd+2*p.PadW < kw {
		panic(fmt.Sprintf("cpuref: %s: kernel %v larger than padded input %v with %+v", op, w.shape, x.shape, p))
	}
	wantShape(op, "y", y, n, k, ho, wo)
	g = convGeom{c: c, h: h, w: wd, kh: kh, kw: kw, ho: ho, wo: wo,
		sh: p.StrideH, sw: p.StrideW, ph: p.PadH, pw: p.PadW,
		rows: c * kh * kw, pixels: ho * wo}
	return n, k, g
}

// ConvForward: y (N,K,Ho,Wo) = x (N,C,H,W) ⋆ w (K,C,kh,kw); y is overwritten.
// Per sample, y_n (K, Ho·Wo) = w (K, C·kh·kw) · im2col(x_n); samples are
// spread over the threads, so every element's sum order, and so the result,
// is the same for any thread count.
func (b *Backend) ConvForward(y, x, w ops.Tensor, p ops.ConvParams) {
	if b.viaNCHW("ConvForward", 1, writeOnly, func(t []ops.Tensor) { b.ConvForward(t[0], t[1], t[2], p) }, y, x, w) {
		return
	}
	const op = "ConvForward"
	yt, xt, wt := b.get(op, y), b.get(op, x), b.get(op, w)
	defer b.store(yt)
	n, k, g := geometry(op, yt, xt, wt, p)
	inLen, outLen := g.c*g.h*g.w, k*g.pixels
	ws := b.workspaces(g.rows * g.pixels)
	b.parallelFor(n, func(worker, lo, hi int) {
		for s := lo; s < hi; s++ {
			convSample(yt.data[s*outLen:(s+1)*outLen], xt.data[s*inLen:(s+1)*inLen], wt.data, k, g, ws[worker], false)
		}
	})
}

// convSample computes one sample's y (k, Ho·Wo) (+)= w (k, rows) · im2col(x).
func convSample(y, x, w []float32, k int, g convGeom, col []float32, add bool) {
	gemm(k, g.pixels, g.rows, w, g.rows, columns(col, x, g), g.pixels, y, g.pixels, add)
}

// columns returns im2col(x), written into col, or x itself where that is the
// same matrix (g.direct).
func columns(col, x []float32, g convGeom) []float32 {
	if g.direct() {
		return x
	}
	im2col(col, x, g)
	return col
}

// ConvBackwardData: dx (N,C,H,W) (add?+=:=) the gradient of y = x ⋆ w with
// respect to x, from dy (N,K,Ho,Wo): per sample col2im(wᵀ · dy_n), or, for
// a 3×3 kernel with stride 1 and padding 1 whose col2im matrix would not fit
// in L2 (flipMinBytes), the forward convolution of dy_n with w flipped in
// space and its channel axes swapped, which spares the scatter-add of col2im
// over that matrix. Like ConvForward, the result does not depend on the
// thread count.
func (b *Backend) ConvBackwardData(dx, dy, w ops.Tensor, p ops.ConvParams, add bool) {
	if b.viaNCHW("ConvBackwardData", 1, rw(add), func(t []ops.Tensor) { b.ConvBackwardData(t[0], t[1], t[2], p, add) }, dx, dy, w) {
		return
	}
	const op = "ConvBackwardData"
	dxt, dyt, wt := b.get(op, dx), b.get(op, dy), b.get(op, w)
	defer b.store(dxt)
	n, k, g := geometry(op, dyt, dxt, wt, p)
	inLen, outLen := g.c*g.h*g.w, k*g.pixels
	if g.same3x3() && 4*g.rows*g.pixels >= flipMinBytes {
		wf := b.flipped(wt.data, k, g.c)
		gf := g
		gf.c, gf.rows = k, k*9
		ws := b.workspaces(gf.rows * gf.pixels)
		b.parallelFor(n, func(worker, lo, hi int) {
			for s := lo; s < hi; s++ {
				convSample(dxt.data[s*inLen:(s+1)*inLen], dyt.data[s*outLen:(s+1)*outLen], wf, g.c, gf, ws[worker], add)
			}
		})
		return
	}
	wT := b.transposed(wt.data, k, g.rows)
	ws := b.workspaces(g.rows * g.pixels)
	b.parallelFor(n, func(worker, lo, hi int) {
		col := ws[worker]
		for s := lo; s < hi; s++ {
			dxs := dxt.data[s*inLen : (s+1)*inLen]
			dys := dyt.data[s*outLen : (s+1)*outLen]
			if g.direct() {
				gemm(g.rows, g.pixels, k, wT, k, dys, g.pixels, dxs, g.pixels, add)
				continue
			}
			gemm(g.rows, g.pixels, k, wT, k, dys, g.pixels, col, g.pixels, false)
			if !add {
				clear(dxs)
			}
			col2im(dxs, col, g)
		}
	})
}

// ConvBackwardFilter: dw (K,C,kh,kw) = Σ over samples of dy_n · im2col(x_n)ᵀ;
// overwritten. Each sample's product is a float32 matmul; the sum over the
// batch is taken in float64, in sample order, so the result does not depend
// on the thread count: the threads work on one round of samples at a time,
// then add that round's products in sample order.
//
// The product is computed transposed, dw_nᵀ = im2col(x_n) · dy_nᵀ: gemm
// then reads the big im2col matrix in place as its A and packs only dy_n,
// which has few rows, instead of repacking the im2col matrix for every
// 16 output channels. Each element is the same FMA chain either way
// (a·b = b·a), so the bits do not change.
func (b *Backend) ConvBackwardFilter(dw, dy, x ops.Tensor, p ops.ConvParams) {
	if b.viaNCHW("ConvBackwardFilter", 1, writeOnly, func(t []ops.Tensor) { b.ConvBackwardFilter(t[0], t[1], t[2], p) }, dw, dy, x) {
		return
	}
	const op = "ConvBackwardFilter"
	dwt, dyt, xt := b.get(op, dw), b.get(op, dy), b.get(op, x)
	defer b.store(dwt)
	n, k, g := geometry(op, dyt, xt, dwt, p)
	inLen, outLen, wLen := g.c*g.h*g.w, k*g.pixels, k*g.rows
	colLen := g.rows * g.pixels
	ws := b.workspaces(colLen + wLen) // im2col of the sample, its product
	if cap(b.acc) < wLen {
		b.acc = make([]float64, wLen)
	}
	accT := b.acc[:wLen] // Σ dw_nᵀ, rows × k like the products
	clear(accT)
	for r0 := 0; r0 < n; r0 += b.threads {
		round := min(b.threads, n-r0)
		b.parallelFor(round, func(_, lo, hi int) {
			for s := r0 + lo; s < r0+hi; s++ {
				buf := ws[s-r0]
				col := columns(buf[:colLen], xt.data[s*inLen:(s+1)*inLen], g)
				gemmBT(g.rows, k, g.pixels, col, g.pixels, dyt.data[s*outLen:(s+1)*outLen], g.pixels, buf[colLen:], k, false)
			}
		})
		b.parallelRange(wLen, 4096, func(lo, hi int) {
			for s := range round {
				prodT := ws[s][colLen:]
				for e := lo; e < hi; e++ {
					accT[e] += float64(prodT[e])
				}
			}
		})
	}
	for r := range g.rows {
		for o, v := range accT[r*k : (r+1)*k] {
			dwt.data[o*g.rows+r] = float32(v)
		}
	}
}

// workspaces returns one scratch slice of n elements per thread. It grows
// them before the workers start, so that the workers never allocate.
func (b *Backend) workspaces(n int) [][]float32 {
	ws := make([][]float32, b.threads)
	for i := range ws {
		ws[i] = b.workspace(i, n)
	}
	return ws
}

// flipMinBytes is the size of the col2im matrix from which ConvBackwardData
// takes the flipped-kernel path. Measured on the 2-core EPYC build machine
// (bench/RESULTS.md): CIFAR stage 1 (c16, 32×32: 576 KiB) ran 39 → 48-55
// GFLOP/s that way, while stages 2 and 3 (288 and 144 KiB) were faster with
// col2im, whose product has the larger m.
const flipMinBytes = 512 << 10

// flipped returns, in the backend's transpose buffer (valid until the next
// call), the 3×3 kernel w (k, c, 3, 3) turned into that of the adjoint
// convolution: wf[ci, ko, i, j] = w[ko, ci, 2−i, 2−j].
func (b *Backend) flipped(w []float32, k, c int) []float32 {
	if cap(b.wT) < len(w) {
		b.wT = make([]float32, len(w))
	}
	wf := b.wT[:len(w)]
	for ko := range k {
		for ci := range c {
			src := w[(ko*c+ci)*9 : (ko*c+ci+1)*9]
			dst := wf[(ci*k+ko)*9 : (ci*k+ko+1)*9]
			for t := range 9 {
				dst[t] = src[8-t]
			}
		}
	}
	return wf
}

// transposed returns wᵀ (cols×rows) of w (rows×cols) in the backend's
// transpose buffer, valid until the next call.
func (b *Backend) transposed(w []float32, rows, cols int) []float32 {
	if cap(b.wT) < rows*cols {
		b.wT = make([]float32, rows*cols)
	}
	t := b.wT[:rows*cols]
	transpose(t, w, rows, cols)
	return t
}
