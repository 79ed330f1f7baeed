package checkpoint

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// pythonReader is the reference safetensors implementation's check of a
// checksummed file: it must load every tensor and see the metadata,
// checksum included. With torch present it loads through PyTorch too.
const pythonReader = `
import sys, json
from safetensors import safe_open
from safetensors.numpy import load_file
path = sys.argv[1]
t = load_file(path)
with safe_open(path, framework="numpy") as f:
    meta = f.metadata()
out = {"names": sorted(t), "sum": float(sum(float(v.astype("float64").sum()) for v in t.values())), "meta": meta}
try:
    from safetensors.torch import load_file as load_torch
    tt = load_torch(path)
    out["torch"] = float(sum(float(v.double().sum()) for v in tt.values()))
except ImportError:
    pass
print(json.dumps(out))
`

// TestPythonReadsChecksummedFile loads a file Write made with the reference
// safetensors package (Python; and PyTorch when installed): the checksum
// lives in the metadata, which readers pass through. The interpreter is
// $DEEPRES_PYTHON, else python3; the test skips when it lacks safetensors.
func TestPythonReadsChecksummedFile(t *testing.T) {
	py := os.Getenv("DEEPRES_PYTHON")
	if py == "" {
		py = "python3"
	}
	if err := exec.Command(py, "-c", "import safetensors.numpy").Run(); err != nil {
		t.Skipf("%s cannot import safetensors.numpy (%v); HINT: pip install safetensors numpy, and set DEEPRES_PYTHON", py, err)
	}
	path := filepath.Join(t.TempDir(), "last.safetensors")
	tensors := map[string]*tensor.Dense{
		"conv1.weight":    tensor.New(tensor.WithShape(2, 1, 1, 2), tensor.WithBacking([]float32{1, -2, 3.5, 0})),
		"fc.bias":         tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{0.25, 8, -1})),
		"bn1.running_var": tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{0.5, 2})),
	}
	if err := Write(path, tensors, map[string]string{"format": "deepres-2", "model": `{"Name":"resnet-8"}`}); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", pythonReader, path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s could not load the file: %v\n%s", py, err, out)
	}
	got := string(out)
	for _, want := range []string{`"names": ["bn1.running_var", "conv1.weight", "fc.bias"]`, `"sum": 12.25`,
		fmt.Sprintf(`"checksum": "%s"`, f.Checksum), `"format": "deepres-2"`} {
		if !strings.Contains(got, want) {
			t.Errorf("python's view of the file lacks %s: %s", want, got)
		}
	}
	t.Logf("%s", strings.TrimSpace(got))
}
