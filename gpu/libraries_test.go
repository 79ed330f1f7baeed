package gpu

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/deepres/deepres/internal/gputest"
)

// TestLibrariesFromNVIDIAStack finds NVIDIA's real libraries in the stack
// $DEEPRES_NVIDIA_STACK (a wheel layout, CUDA 13's nvidia/cu13/lib
// included) without a driver: cuDNN's version (the real cudnnGetVersion)
// must be its own header's, the CUDA major (the real cudnnGetCudartVersion)
// must be the stack's runtime header's where it has one, cuBLAS and NVRTC
// must come from the stack with that major's soname, and the driver must be
// reported missing by name. In a stack without cuBLAS for cuDNN's major
// (fetch.sh mixed: cuDNN for CUDA 12 beside cuBLAS 13 only) the cuBLAS error
// must name the missing libraries. Run it alone (go test -run).
func TestLibrariesFromNVIDIAStack(t *testing.T) {
	stack := gputest.NVIDIAStack(t)
	l := FindLibraries()
	t.Logf("cuDNN %v, CUDA %d, cuBLAS %v, NVRTC %v, driver %v", l.CUDNN, l.CUDAMajor, l.CUBLAS, l.NVRTC, l.Driver)
	if l.CUDNN.Err != nil {
		t.Fatal(l.CUDNN.Err)
	}
	if want := headerVersion(t, stack, "cudnn/include/cudnn_version.h", "CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"); l.CUDNN.Version != want {
		t.Errorf("cudnnGetVersion says %s, the stack's cudnn_version.h %s", l.CUDNN.Version, want)
	}
	inStack(t, "cuDNN", l.CUDNN.Path, stack)
	for _, inc := range []string{"cuda_runtime/include", "cu13/include"} {
		if _, err := os.Stat(filepath.Join(stack, "nvidia", inc, "cuda_runtime_api.h")); err != nil {
			continue
		}
		v := headerVersion(t, stack, inc+"/cuda_runtime_api.h", "CUDART_VERSION")
		var n int
		fmt.Sscan(v, &n)
		if l.CUDAMajor != n/1000 {
			t.Errorf("cuDNN is built for CUDA %d, the stack's runtime is CUDART_VERSION %d", l.CUDAMajor, n)
		}
	}
	blas, _ := filepath.Glob(filepath.Join(stack, "nvidia", "*", "lib", fmt.Sprintf("libcublas.so.%d", l.CUDAMajor)))
	if len(blas) == 0 {
		// The mixed stack: cuBLAS of another major must not be taken.
		want := fmt.Sprintf("loads libcublasLt.so.%d itself, so deepres needs cuBLAS for CUDA %[1]d beside it: libcublas.so.%[1]d (cuBLAS) not found", l.CUDAMajor)
		if l.CUBLAS.Err == nil || !strings.Contains(l.CUBLAS.Err.Error(), want) {
			t.Errorf("no cuBLAS for CUDA %d in the stack: cuBLAS = %v, want an error with %q", l.CUDAMajor, l.CUBLAS, want)
		}
	} else {
		if l.CUBLAS.Err != nil {
			t.Fatal(l.CUBLAS.Err)
		}
		inStack(t, "cuBLAS", l.CUBLAS.Path, stack)
		if want := fmt.Sprintf("libcublas.so.%d", l.CUDAMajor); filepath.Base(l.CUBLAS.Path) != want {
			t.Errorf("cuBLAS %s chosen beside cuDNN for CUDA %d, want %s", l.CUBLAS.Path, l.CUDAMajor, want)
		}
		if l.NVRTC.Err != nil {
			t.Fatal(l.NVRTC.Err)
		}
		inStack(t, "NVRTC", l.NVRTC.Path, stack)
		if want := fmt.Sprintf("libnvrtc.so.%d", l.CUDAMajor); filepath.Base(l.NVRTC.Path) != want {
			t.Errorf("NVRTC %s chosen beside cuDNN for CUDA %d, want %s", l.NVRTC.Path, l.CUDAMajor, want)
		}
	}
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		return // a GPU machine: the driver may well be there
	}
	if !errors.Is(l.Driver.Err, ErrLibraryNotFound) || l.Driver.String() != "unavailable: libcuda.so.1 (NVIDIA CUDA driver) not found" {
		t.Errorf("no driver: got %v (%v)", l.Driver, l.Driver.Err)
	}
	if _, err := ListDevices(); !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "libcuda.so.1") {
		t.Errorf("ListDevices without a driver: %v", err)
	}
}

// headerVersion reads #define NAME N from a header of the stack and joins
// the numbers with dots.
func headerVersion(t *testing.T, stack, header string, names ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stack, "nvidia", header))
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, n := range names {
		m := regexp.MustCompile(`(?m)^#define ` + n + `\s+(\d+)`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s has no #define %s", header, n)
		}
		parts = append(parts, string(m[1]))
	}
	return strings.Join(parts, ".")
}

func inStack(t *testing.T, what, path, stack string) {
	t.Helper()
	if !strings.HasPrefix(path, stack+string(filepath.Separator)) {
		t.Errorf("%s loaded from %s, not from the stack %s", what, path, stack)
	}
}
