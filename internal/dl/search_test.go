package dl

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// mkdirs creates each folder under root and returns root.
func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPlacesOrder(t *testing.T) {
	root := t.TempDir()
	mkdirs(t, root,
		"override",
		"pp/nvidia/cudnn/lib",
		"venv/lib/python3.12/site-packages/nvidia/cublas/lib",
		"venv/lib/python3.12/site-packages/nvidia/cu13/lib",
		"home/.local/lib/python3.11/site-packages/nvidia/nvrtc/lib",
		"usrlocal/python3.12/dist-packages/nvidia/cudnn/lib",
		"usrlocal/python3.12/site-packages/nvidia/cudnn/lib",
		"usrlocal/python3.12/site-packages/nvidia/notalib", // no lib folder: skipped
		"usr/python3.13/site-packages/nvidia/cuda_nvrtc/lib",
	)
	j := func(p string) string { return filepath.Join(root, p) }
	full := Env{
		LibDir:     j("override"),
		PythonPath: []string{j("pp")},
		VirtualEnv: j("venv"),
		Home:       j("home"),
		SystemLibs: []string{j("usrlocal"), j("usr")},
	}
	tests := []struct {
		name string
		env  Env
		want []string
	}{
		{"empty", Env{}, []string{Linker}},
		{"override only", Env{LibDir: j("override") + "/"}, []string{j("override"), Linker}},
		{"full", full, []string{
			j("override"),
			j("pp/nvidia/cudnn/lib"),
			j("venv/lib/python3.12/site-packages/nvidia/cu13/lib"),
			j("venv/lib/python3.12/site-packages/nvidia/cublas/lib"),
			j("home/.local/lib/python3.11/site-packages/nvidia/nvrtc/lib"),
			j("usrlocal/python3.12/site-packages/nvidia/cudnn/lib"),
			j("usrlocal/python3.12/dist-packages/nvidia/cudnn/lib"),
			j("usr/python3.13/site-packages/nvidia/cuda_nvrtc/lib"),
			Linker,
		}},
		{"duplicates listed once", Env{LibDir: j("pp/nvidia/cudnn/lib"), PythonPath: []string{j("pp"), j("pp")}},
			[]string{j("pp/nvidia/cudnn/lib"), Linker}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.env.Places()
			if !slices.Equal(got, tc.want) {
				t.Errorf("Places() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
