package cpuref

import "github.com/deepres/deepres/ops"

// SGDUpdate steps w and its momentum buffer v in place from the gradient dw
// (equal shapes), in PyTorch's convention (ops.SGDParams):
//
//	g = dw + WeightDecay·w;  v = Momentum·v + g
//	step = g + Momentum·v (Nesterov) or v;  w -= LR·step
//
// with LR from p.LRTensor when set.
func (b *Backend) SGDUpdate(w, dw, v ops.Tensor, p ops.SGDParams) {
	if b.viaNCHW("SGDUpdate", 3, readWrite, func(t []ops.Tensor) { b.SGDUpdate(t[0], t[1], t[2], p) }, w, dw, v) {
		return
	}
	wt, gt, vt := b.get("SGDUpdate", w), b.get("SGDUpdate", dw), b.get("SGDUpdate", v)
	defer b.store(wt, vt)
	sameShape("SGDUpdate", wt, gt, vt)
	lr := p.LR
	if p.LRTensor != nil {
		lt := b.get("SGDUpdate", p.LRTensor)
		if len(lt.data) != 1 {
			panic("ops: SGDUpdate's LRTensor must have one element")
		}
		lr = lt.data[0]
	}
	b.parallelRange(len(wt.data), grain, func(lo, hi int) {
		ws, gs, vs := wt.data[lo:hi], gt.data[lo:hi], vt.data[lo:hi]
		for i, wi := range ws {
			g := gs[i] + p.WeightDecay*wi
			vi := p.Momentum*vs[i] + g
			vs[i] = vi
			step := vi
			if p.Nesterov {
				step = g + p.Momentum*vi
			}
			ws[i] = wi - lr*step
		}
	})
}
