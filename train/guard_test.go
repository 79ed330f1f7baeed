package train

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepres/deepres/internal/synth"
)

// A weight that is finite but beyond what a read accepts (checkpoint.MaxAbs)
// is a divergence at save time, so a run never writes a checkpoint it would
// refuse to read.
func TestSaveRefusesWhatReadRefuses(t *testing.T) {
	dir := t.TempDir()
	tr := newTrainer(t, testConfig(t, "resnet-8", dir), synth.Dataset(32, 5), nil)
	defer tr.Close()
	p := tr.Net.Params.Params[len(tr.Net.Params.Params)-1] // fc.bias
	v := make([]float32, p.Shape.Len())
	v[1] = 1e20
	tr.Net.Env.B.CopyIn(p.Value, v)
	path := filepath.Join(dir, "last.safetensors")
	err := tr.save(path)
	if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), p.Name) || exists(path) {
		t.Errorf("save with %s[1] = 1e20: %v (file written: %v); want a divergence naming it, nothing written", p.Name, err, exists(path))
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
