package dl

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepres/deepres/internal/gputest"
)

// TestOpenInNVIDIAStack searches NVIDIA's real wheel layout in
// $DEEPRES_NVIDIA_STACK as a site-packages folder: every nvidia/*/lib
// folder (CUDA 13's shared nvidia/cu13/lib included) must be a place, each
// library the stack holds must load from it with its companions (cuBLAS
// after libcublasLt, NVRTC after its builtins, cuDNN after its
// sub-libraries), one it lacks must be named as not found, and so must the
// driver, which no wheel holds.
func TestOpenInNVIDIAStack(t *testing.T) {
	stack := gputest.NVIDIAStack(t)
	places := Env{PythonPath: []string{stack}}.Places()
	libs, _ := filepath.Glob(filepath.Join(stack, "nvidia", "*", "lib"))
	for _, l := range libs {
		if !slices.Contains(places, l) {
			t.Errorf("%s is not searched: places %q", l, places)
		}
	}
	wheels := places[:len(places)-1] // without the linker's path: the stack alone
	for _, tc := range []struct {
		lib Library
		sym string
	}{{CUDNN, "cudnnGetVersion"}, {CUBLAS, "cublasCreate_v2"}, {NVRTC, "nvrtcVersion"}} {
		var have []string
		for _, v := range tc.lib.Variants {
			m, _ := filepath.Glob(filepath.Join(stack, "nvidia", "*", "lib", v.Soname))
			have = append(have, m...)
		}
		h, err := OpenIn(tc.lib, wheels)
		if len(have) == 0 {
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tc.lib.sonames()+" ("+tc.lib.Name+") not found") {
				t.Errorf("%s is not in the stack: err = %v", tc.lib.Name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.lib.Name, err)
			continue
		}
		if h.Path() != have[0] {
			t.Errorf("%s loaded from %s, want %s", tc.lib.Name, h.Path(), have[0])
		}
		if _, err := h.Sym(tc.sym); err != nil {
			t.Errorf("%s: %v", tc.lib.Name, err)
		}
	}
	if _, err := OpenIn(CUDA, wheels); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "libcuda.so.1 (NVIDIA CUDA driver) not found") {
		t.Errorf("the driver in a wheel stack: err = %v", err)
	}
}
