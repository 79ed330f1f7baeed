package dl

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
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
		"conda/bin",
		"conda/lib/python3.11/site-packages/nvidia/cublas/lib",
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
		PythonBin:  j("conda/bin/python3"),
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
			j("conda/lib/python3.11/site-packages/nvidia/cublas/lib"),
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

// A virtual environment used without activating it ($VIRTUAL_ENV unset, its
// bin on $PATH, as in many containers): NVIDIA's wheels inside it are found
// through the python3 on $PATH. Its python3 is a symlink elsewhere, as venv
// makes it; the venv is the symlink's folder, not the target's.
func TestPlacesFromPythonOnPath(t *testing.T) {
	root := t.TempDir()
	lib := filepath.Join(root, "venv/lib/python3.12/site-packages/nvidia/cudnn/lib")
	mkdirs(t, root, "venv/bin", "venv/lib/python3.12/site-packages/nvidia/cudnn/lib", "elsewhere/bin")
	target := filepath.Join(root, "elsewhere/bin/python3.12")
	if err := os.WriteFile(target, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(root, "venv/bin/python3")); err != nil {
		t.Fatal(err)
	}
	// A fake library: present, so it is tried (and fails as not an ELF file).
	if err := os.WriteFile(filepath.Join(lib, "libcudnn.so.9"), []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Join(root, "venv/bin"))
	t.Setenv("VIRTUAL_ENV", "")
	t.Setenv("PYTHONPATH", "")
	t.Setenv("HOME", filepath.Join(root, "home"))
	t.Setenv("DEEPRES_CUDA_LIB_DIR", "")
	env := EnvFromOS()
	if env.PythonBin != filepath.Join(root, "venv/bin/python3") {
		t.Errorf("PythonBin = %q, want the venv's python3", env.PythonBin)
	}
	places := env.Places()
	if !slices.Contains(places, lib) {
		t.Fatalf("Places() = %q lacks the venv's %s", places, lib)
	}
	_, err := OpenIn(CUDNN, places)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(lib, "libcudnn.so.9")+": ") {
		t.Errorf("OpenIn did not try the venv's libcudnn.so.9: %v", err)
	}
}
