package cpuref

import (
	"fmt"
	"math"

	"github.com/deepres/deepres/ops"
)

// SoftmaxCrossEntropy takes logits (N,K) and labels (N), class indices held
// as floats. It writes losses (N), −log softmax(logits)[label]; correct (N),
// 1 where the first arg-max logit is the label, else 0; and, unless dlogits
// is nil, dlogits (N,K) = (softmax − onehot)/N, the gradient of the mean
// loss. A label that is not an integer in 0..K−1 panics before anything is
// written. Softmax is computed in float64 after subtracting the row maximum.
func (b *Backend) SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels ops.Tensor) {
	if b.viaNCHW("SoftmaxCrossEntropy", 3, writeOnly, func(t []ops.Tensor) { b.SoftmaxCrossEntropy(t[0], t[1], t[2], t[3], t[4]) }, dlogits, losses, correct, logits, labels) {
		return
	}
	const op = "SoftmaxCrossEntropy"
	lt := b.get(op, logits)
	n, k := matrix(op, "logits", lt)
	lossT, corrT, labT := b.get(op, losses), b.get(op, correct), b.get(op, labels)
	defer b.store(lossT, corrT)
	wantShape(op, "losses", lossT, n)
	wantShape(op, "correct", corrT, n)
	wantShape(op, "labels", labT, n)
	var dt *tensor
	if dlogits != nil {
		dt = b.get(op, dlogits)
		defer b.store(dt)
		wantShape(op, "dlogits", dt, n, k)
	}
	for s, l := range labT.data {
		if !(l >= 0 && l < float32(k) && l == float32(int(l))) {
			panic(fmt.Sprintf("cpuref: %s: label %v of sample %d is not a class index in 0..%d", op, l, s, k-1))
		}
	}
	b.parallelRange(n, 64, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			row := lt.data[s*k : (s+1)*k]
			label := int(labT.data[s])
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			top := float64(row[best])
			var z float64
			for _, v := range row {
				z += math.Exp(float64(v) - top)
			}
			logZ := top + math.Log(z)
			lossT.data[s] = float32(logZ - float64(row[label]))
			corrT.data[s] = 0
			if best == label {
				corrT.data[s] = 1
			}
			if dt == nil {
				continue
			}
			d := dt.data[s*k : (s+1)*k]
			for j, v := range row {
				g := math.Exp(float64(v) - logZ)
				if j == label {
					g--
				}
				d[j] = float32(g / float64(n))
			}
		}
	})
}
