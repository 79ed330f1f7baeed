package train

import (
	"encoding/json"
	"fmt"

	"github.com/deepres/deepres/models"
)

// lossScaleState is float16 loss scaling's state in a checkpoint's
// metadata (key "loss_scale"), so that --resume continues with the scale
// and growth count the run had (models.LossScale). float32 and bfloat16
// runs have none. JSON numbers hold both exactly: the scale is a power of
// two times InitScale, the tracker an integer below GrowthInterval.
type lossScaleState struct {
	Scale         float32 `json:"scale"`
	GrowthTracker int     `json:"growth_tracker"`
}

// saveLossScale records net's loss-scaling state in meta, if it has one.
func saveLossScale(net *models.Network, meta map[string]string) error {
	ls := net.LossScale
	if ls == nil {
		return nil
	}
	v := make([]float32, 2)
	if err := net.Env.B.CopyOut(v[:1], ls.Scale); err != nil {
		return err
	}
	if err := net.Env.B.CopyOut(v[1:], ls.Tracker); err != nil {
		return err
	}
	raw, err := json.Marshal(lossScaleState{Scale: v[0], GrowthTracker: int(v[1])})
	if err != nil {
		return err
	}
	meta["loss_scale"] = string(raw)
	return nil
}

// loadLossScale restores it. A checkpoint without one (a float32 or bf16
// run resumed in fp16) leaves the fresh state (scale InitScale, count 0);
// one with it, resumed in another precision, is ignored.
func loadLossScale(net *models.Network, meta map[string]string, path string) error {
	raw, ok := meta["loss_scale"]
	if net.LossScale == nil || !ok {
		return nil
	}
	var st lossScaleState
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return fmt.Errorf("%s: bad loss_scale %q: %w", path, raw, err)
	}
	if !(st.Scale > 0) || st.GrowthTracker < 0 || st.GrowthTracker >= net.LossScale.P.GrowthInterval {
		return fmt.Errorf("%s: bad loss_scale %q: want a positive scale and a growth tracker in [0, %d)", path, raw, net.LossScale.P.GrowthInterval)
	}
	b := net.Env.B
	b.CopyIn(net.LossScale.Scale, []float32{st.Scale})
	b.CopyIn(net.LossScale.Tracker, []float32{float32(st.GrowthTracker)})
	return b.Sync()
}
