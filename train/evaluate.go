package train

import (
	"fmt"

	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
)

// Evaluate runs net in evaluation mode (running BN statistics, no dropout,
// stochastic-depth branches scaled by p_l) over ds and returns the mean
// loss and the accuracy. batch must not exceed the network's MaxBatch.
func Evaluate(net *models.Network, ds *data.Dataset, norm data.Normalization, batch int) (loss, acc float64, err error) {
	b := net.Env.B
	batch = min(batch, net.MaxBatch())
	x, err := ops.AllocLayout(b, ops.Float32, net.Env.Layout, batch, 3, 32, 32) // laid out like the activations (train.New)
	if err != nil {
		return 0, 0, fmt.Errorf("evaluate: %w", err)
	}
	defer b.Free(x)
	labels, err := b.Alloc(batch)
	if err != nil {
		return 0, 0, fmt.Errorf("evaluate: %w", err)
	}
	defer b.Free(labels)
	sums, err := b.Alloc(2)
	if err != nil {
		return 0, 0, fmt.Errorf("evaluate: %w", err)
	}
	defer b.Free(sums)
	loader := data.NewLoader(ds, data.LoaderConfig{BatchSize: batch, Norm: norm})
	defer loader.Close()
	loader.StartEpoch(0)
	net.SetTraining(false)
	defer net.SetTraining(true)
	var lossSum, correct float64
	var s [2]float32
	for {
		bt, ok := loader.Next()
		if !ok {
			break
		}
		xv, lv := b.View(x, 0, bt.N, 3, 32, 32), b.View(labels, 0, bt.N)
		b.CopyIn(xv, bt.X.Data().([]float32))
		b.CopyIn(lv, bt.Labels.Data().([]float32))
		net.Forward(xv)
		net.Loss(lv, false)
		b.Reduce(b.View(sums, 0, 1), net.Losses(), ops.ReduceSum)
		b.Reduce(b.View(sums, 1, 1), net.Correct(), ops.ReduceSum)
		if err := b.CopyOut(s[:], sums); err != nil {
			return 0, 0, fmt.Errorf("evaluate: %w", err)
		}
		lossSum += float64(s[0])
		correct += float64(s[1])
	}
	if ds.N == 0 {
		return 0, 0, fmt.Errorf("evaluate: dataset %s is empty", ds.Name)
	}
	return lossSum / float64(ds.N), correct / float64(ds.N), nil
}
