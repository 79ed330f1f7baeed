package train

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"

	"gorgonia.org/tensor"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/data"
	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/ops"
)

// MomentumPrefix names the optimiser's momentum buffers in a checkpoint.
const MomentumPrefix = "optim.momentum."

// position is where a run stands: enough to continue it exactly.
type position struct {
	Epoch, Batch, Step int
	// running sums of the current epoch, so a resumed epoch reports the same metrics
	LossSum, CorrectSum, GradAbsSum float64
	Seen, GradSteps                 int
	// Best is the lowest watched error so far: +Inf before the first
	// evaluation, hence jsonFloat.
	Best jsonFloat
}

// StateDict copies a network's weights and BN buffers to the host, by
// PyTorch state_dict name.
func StateDict(net *models.Network) (map[string]*tensor.Dense, error) {
	b := net.Env.B
	out := map[string]*tensor.Dense{}
	flat := make([]float32, net.Params.Count())
	if err := b.CopyOut(flat, net.Params.Values()); err != nil {
		return nil, err
	}
	for _, p := range net.Params.Params {
		out[p.Name] = dense(p.Shape, flat[p.Offset():p.Offset()+p.Shape.Len()])
	}
	for _, buf := range net.Params.Buffers {
		host := make([]float32, buf.Shape.Len())
		if err := b.CopyOut(host, buf.Value); err != nil {
			return nil, err
		}
		out[buf.Name] = dense(buf.Shape, host)
	}
	return out, nil
}

func dense(shape ops.Shape, v []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), v...)))
}

// LoadStateDict copies weights and buffers into net; every name must be
// present with its shape. Extra tensors (momentum) are ignored here.
func LoadStateDict(net *models.Network, tensors map[string]*tensor.Dense, file string) error {
	b := net.Env.B
	get := func(name string, shape ops.Shape) ([]float32, error) {
		t, ok := tensors[name]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %s is missing; HINT: the checkpoint was written for another model or configuration (deepres reads it from the file's metadata)", file, name)
		}
		if !ops.Shape(t.Shape()).Equal(shape) {
			return nil, fmt.Errorf("%s: tensor %s has shape %v, the model needs %v", file, name, t.Shape(), shape)
		}
		return t.Data().([]float32), nil
	}
	for _, p := range net.Params.Params {
		v, err := get(p.Name, p.Shape)
		if err != nil {
			return err
		}
		b.CopyIn(p.Value, v)
	}
	for _, buf := range net.Params.Buffers {
		v, err := get(buf.Name, buf.Shape)
		if err != nil {
			return err
		}
		b.CopyIn(buf.Value, v)
	}
	return b.Sync()
}

// save writes the run's checkpoint to path: weights, buffers, momentum and
// the training state in the metadata.
func (t *Trainer) save(path string) error {
	if err := t.owns(); err != nil {
		return err
	}
	net := t.Net
	tensors, err := StateDict(net)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	flat := make([]float32, net.Params.Count())
	if err := net.Env.B.CopyOut(flat, net.Momentum()); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	for _, p := range net.Params.Params {
		tensors[MomentumPrefix+p.Name] = dense(p.Shape, flat[p.Offset():p.Offset()+p.Shape.Len()])
	}
	if err := t.checkTensors(tensors); err != nil {
		return err
	}
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	meta, err := Metadata(t.Cfg.Model, t.Norm)
	if err != nil {
		return err
	}
	tc, err := json.Marshal(t.Cfg)
	if err != nil {
		return fmt.Errorf("checkpoint %s: encode the configuration: %w", path, err)
	}
	pos, err := json.Marshal(t.pos)
	if err != nil {
		return fmt.Errorf("checkpoint %s: encode the position: %w", path, err)
	}
	meta["train"] = string(tc)
	meta["position"] = string(pos)
	meta["epoch"] = strconv.Itoa(t.pos.Epoch)
	meta["step"] = strconv.Itoa(t.pos.Step)
	meta["rng"] = base64.StdEncoding.EncodeToString(rng)
	meta["dropout_seed"] = strconv.FormatUint(net.Env.DropoutSeed, 10)
	if err := saveLossScale(net, meta); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := checkpoint.Write(path, tensors, meta); err != nil {
		return err
	}
	if filepath.Base(path) == "last.safetensors" {
		t.lastGood = t.pos.Step
	}
	return nil
}

// Metadata is what every deepres checkpoint carries to rebuild its model.
func Metadata(m models.Config, norm data.Normalization) (map[string]string, error) {
	mc, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	nc, err := json.Marshal(norm)
	if err != nil {
		return nil, err
	}
	return map[string]string{"format": FormatTag, "deepres_version": Version(), "model_name": m.Name, "model": string(mc), "normalization": string(nc)}, nil
}

// ModelFromMetadata rebuilds the model configuration and normalisation a
// checkpoint was written with, refusing settings this deepres does not know
// and building rules newer than its own.
func ModelFromMetadata(f *checkpoint.File, path string) (models.Config, data.Normalization, error) {
	var m models.Config
	var n data.Normalization
	if _, ok := f.Meta["model"]; !ok {
		return m, n, fmt.Errorf("%s: no model configuration in the metadata; HINT: is this a deepres checkpoint? (deepres init writes one)", path)
	}
	if err := decodeStrict(f, path, "model", &m); err != nil {
		return m, n, err
	}
	if m.Arch > models.CurrentArch {
		return m, n, fmt.Errorf("%s: model %s was built under building rules revision %d, newer than this deepres's %d: it was written by %s; HINT: upgrade deepres",
			path, m.Name, m.Arch, models.CurrentArch, writtenBy(f.Meta))
	}
	if _, ok := f.Meta["normalization"]; ok {
		if err := decodeStrict(f, path, "normalization", &n); err != nil {
			return m, n, err
		}
	}
	return m, n, nil
}

// resume restores everything save wrote.
func (t *Trainer) resume(dir string) error {
	path := filepath.Join(dir, "last.safetensors")
	f, _, err := ReadCheckpoint(path) // its notes were ReadRunConfig's
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if err := LoadStateDict(t.Net, f.Tensors, path); err != nil {
		return err
	}
	net := t.Net
	flat := make([]float32, net.Params.Count())
	for _, p := range net.Params.Params {
		m, ok := f.Tensors[MomentumPrefix+p.Name]
		if !ok {
			return fmt.Errorf("%s: momentum %s missing; HINT: only checkpoints written by deepres train can be resumed (use --init to start from weights)", path, p.Name)
		}
		copy(flat[p.Offset():], m.Data().([]float32))
	}
	net.Env.B.CopyIn(net.Momentum(), flat)
	if err := decodeStrict(f, path, "position", &t.pos); err != nil {
		return err
	}
	rng, err := base64.StdEncoding.DecodeString(f.Meta["rng"])
	if err == nil {
		err = t.pcg.UnmarshalBinary(rng)
	}
	if err != nil {
		return fmt.Errorf("%s: bad rng state: %w", path, err)
	}
	ds, err := strconv.ParseUint(f.Meta["dropout_seed"], 10, 64)
	if err != nil {
		return fmt.Errorf("%s: bad dropout seed: %w", path, err)
	}
	net.Env.DropoutSeed = ds
	if err := loadLossScale(net, f.Meta, path); err != nil {
		return err
	}
	t.rng = rand.New(t.pcg)
	t.lastGood = t.pos.Step
	// best.safetensors first: a kill between the two must not leave it
	// ahead of the cut log.
	if t.resumeNote, err = dropBestAhead(dir, t.pos.Step); err != nil {
		return err
	}
	if err := truncateMetrics(dir, t.pos.Epoch); err != nil {
		return err
	}
	return net.Env.B.Sync()
}

// ReadRunConfig reads the training configuration a run folder was started
// with and the step its last.safetensors stands at, with notes for the user
// (ReadCheckpoint). A stored setting this deepres cannot use is an error
// naming the checkpoint's field, not the flag that would have set it.
func ReadRunConfig(dir string) (Config, int, []string, error) {
	var c Config
	var p position
	path := filepath.Join(dir, "last.safetensors")
	f, notes, err := ReadCheckpoint(path)
	if err != nil {
		return c, 0, nil, fmt.Errorf("resume: %w", err)
	}
	if _, ok := f.Meta["train"]; !ok {
		return c, 0, nil, fmt.Errorf("%s: no training configuration; HINT: only checkpoints written by deepres train can be resumed", path)
	}
	if err := decodeStrict(f, path, "train", &c); err != nil {
		return c, 0, nil, err
	}
	if err := decodeStrict(f, path, "position", &p); err != nil {
		return c, 0, nil, err
	}
	if _, _, err := ModelFromMetadata(f, path); err != nil {
		return c, 0, nil, err
	}
	if err := checkStored(c); err != nil {
		return c, 0, nil, fmt.Errorf("%s: the stored training configuration (metadata \"train\") is unusable: %v; it was written by %s, or altered",
			path, err, writtenBy(f.Meta))
	}
	return c, p.Step, notes, nil
}

// checkStored validates a configuration read from a checkpoint, naming its
// fields as stored (Config's JSON names), since no flag was typed.
func checkStored(c Config) error {
	if c.Pad != "" {
		if _, err := data.ParsePadMode(string(c.Pad)); err != nil {
			return fmt.Errorf("field Pad: %v", err)
		}
	}
	if c.Normalize != "" {
		if _, err := data.ParseNormMode(string(c.Normalize)); err != nil {
			return fmt.Errorf("field Normalize: %v", err)
		}
	}
	if err := c.Model.Validate(); err != nil {
		return fmt.Errorf("field Model: %v", err)
	}
	c.Out = "stored" // not recorded as such: the folder is the run's
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%v (a stored value, not a flag)", err)
	}
	return nil
}
