package train

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/deepres/deepres/checkpoint"
	"github.com/deepres/deepres/ops"
)

// LoadInit replaces the initial weights with those of a checkpoint (deepres
// init or a trained run) of the same model: the checkpoint's model name (in
// its metadata) and its set of tensors must be the run's, so that weights
// of resnet-20 never load silently into resnet-8 or RoR-2 into RoR-1.
// The notes are ReadCheckpoint's.
func (t *Trainer) LoadInit(path string) ([]string, error) {
	f, notes, err := ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	if _, ok := f.Meta["model"]; ok {
		m, _, err := ModelFromMetadata(f, path)
		if err != nil {
			return nil, err
		}
		if err := m.Validate(); err != nil { // built under today's rules (Arch)?
			return nil, fmt.Errorf("--init %s: %w", path, err)
		}
		if m.Name != t.Cfg.Model.Name {
			return nil, fmt.Errorf("--init %s holds %s weights, the run trains %s; HINT: --init-partial loads only the tensors whose names and shapes match", path, m.Name, t.Cfg.Model.Name)
		}
	}
	if extra := t.extraTensors(f); len(extra) > 0 {
		return nil, fmt.Errorf("--init %s holds tensors the run's %s has not (%s): it was written for another configuration (RoR level, shortcut, unit); HINT: --init-partial loads only the tensors whose names and shapes match",
			path, t.Cfg.Model.Name, abbreviate(extra))
	}
	return notes, LoadStateDict(t.Net, f.Tensors, path)
}

// LoadInitPartial loads from the checkpoint every tensor of the run whose
// name and shape match and keeps the fresh initialisation of the others.
// It reports what it loaded and what not.
func (t *Trainer) LoadInitPartial(path string) (string, error) {
	f, notes, err := ReadCheckpoint(path)
	if err != nil {
		return "", err
	}
	b := t.Net.Env.B
	var loaded, skipped []string
	load := func(name string, shape ops.Shape, dst ops.Tensor) {
		d, ok := f.Tensors[name]
		if !ok || !ops.Shape(d.Shape()).Equal(shape) {
			skipped = append(skipped, name)
			return
		}
		b.CopyIn(dst, d.Data().([]float32))
		loaded = append(loaded, name)
	}
	for _, p := range t.Net.Params.Params {
		load(p.Name, p.Shape, p.Value)
	}
	for _, buf := range t.Net.Params.Buffers {
		load(buf.Name, buf.Shape, buf.Value)
	}
	if err := b.Sync(); err != nil {
		return "", err
	}
	if len(loaded) == 0 {
		return "", fmt.Errorf("--init-partial %s: no tensor of the run's %s has its name and shape there", path, t.Cfg.Model.Name)
	}
	msg := fmt.Sprintf("loaded %d of %d tensors from %s", len(loaded), len(loaded)+len(skipped), path)
	if len(skipped) > 0 {
		msg += fmt.Sprintf("; freshly initialised (missing or shaped differently there): %s", abbreviate(skipped))
	}
	if extra := t.extraTensors(f); len(extra) > 0 {
		msg += fmt.Sprintf("; unused from the file: %s", abbreviate(extra))
	}
	for _, n := range notes {
		msg += "\n" + n
	}
	return msg, nil
}

// extraTensors are the checkpoint's weights and buffers that the run's
// network has not (momentum buffers aside), sorted.
func (t *Trainer) extraTensors(f *checkpoint.File) []string {
	have := map[string]bool{}
	for _, p := range t.Net.Params.Params {
		have[p.Name] = true
	}
	for _, buf := range t.Net.Params.Buffers {
		have[buf.Name] = true
	}
	var extra []string
	for _, name := range slices.Sorted(maps.Keys(f.Tensors)) {
		if !have[name] && !strings.HasPrefix(name, MomentumPrefix) {
			extra = append(extra, name)
		}
	}
	return extra
}

// abbreviate lists names, the first few of a long list.
func abbreviate(names []string) string {
	const show = 6
	if len(names) <= show {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:show], ", "), len(names)-show)
}
