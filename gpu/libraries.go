package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"fmt"
	"strings"

	"github.com/deepres/deepres/cudnn"
	"github.com/deepres/deepres/internal/dl"
)

// Library is one NVIDIA library as deepres found it: its version and file,
// or why it is unavailable.
type Library struct {
	Version string // e.g. "9.10.2"
	Path    string // the file loaded
	Err     error  // why it did not load; Version and Path are then empty
}

// String is "VERSION (PATH)" or "unavailable: why" (the gist, without the
// list of places tried).
func (l Library) String() string {
	if l.Err != nil {
		first, _, _ := strings.Cut(l.Err.Error(), "\n")
		first, _, _ = strings.Cut(first, "; tried:")
		return "unavailable: " + first
	}
	return l.Version + " (" + l.Path + ")"
}

// Libraries is what deepres found of NVIDIA's libraries. It needs no
// driver: cuDNN's version calls, cuBLAS's cublasGetProperty and
// nvrtcVersion run without one, so a machine without a GPU can see
// which libraries it would use (`deepres devices`).
type Libraries struct {
	CUDNN Library
	// CUDAMajor is the CUDA major cuDNN was built for
	// (cudnnGetCudartVersion() / 1000), which picks cuBLAS's and NVRTC's
	// sonames (libraryOrder); 0 without cuDNN.
	CUDAMajor int
	CUBLAS    Library
	NVRTC     Library
	Driver    Library // libcuda.so.1: the CUDA version it supports
}

// FindLibraries loads (once per process) and describes cuDNN, cuBLAS,
// NVRTC and the driver.
func FindLibraries() Libraries {
	var l Libraries
	if err := cudnn.Load(); err != nil {
		l.CUDNN.Err = err
	} else {
		n := cudnn.Version()
		l.CUDNN.Version = fmt.Sprintf("%d.%d.%d", n/10000, n%10000/100, n%100)
		l.CUDNN.Path = loadedPath(dl.CUDNN)
		l.CUDAMajor = cudaMajor(cudnn.CudartVersion())
	}
	if err := loadCUBLAS(); err != nil {
		l.CUBLAS.Err = err
	} else {
		var maj, min, patch C.int
		C.dr_cublasGetProperty(C.DR_MAJOR_VERSION, &maj)
		C.dr_cublasGetProperty(C.DR_MINOR_VERSION, &min)
		C.dr_cublasGetProperty(C.DR_PATCH_LEVEL, &patch)
		l.CUBLAS.Version = fmt.Sprintf("%d.%d.%d", maj, min, patch)
		l.CUBLAS.Path = loadedPath(dl.CUBLAS)
	}
	if err := loadNVRTC(); err != nil {
		l.NVRTC.Err = err
	} else {
		var maj, min C.int
		C.dr_nvrtcVersion(&maj, &min)
		l.NVRTC.Version = fmt.Sprintf("%d.%d", maj, min)
		l.NVRTC.Path = loadedPath(dl.NVRTC)
	}
	if err := loadCUDA(); err != nil {
		l.Driver.Err = noDevice(err)
	} else {
		var v C.int
		if err := cuCheck("cuDriverGetVersion", C.dr_cuDriverGetVersion(&v)); err != nil {
			l.Driver.Err = err
		} else {
			l.Driver.Version = fmt.Sprintf("CUDA %d.%d", v/1000, v%1000/10)
			l.Driver.Path = loadedPath(dl.CUDA)
		}
	}
	return l
}

// loadedPath is the file of a library already loaded: dl.Open keeps one
// handle per library name, so this returns the one loaded.
func loadedPath(lib dl.Library) string {
	h, err := dl.Open(lib)
	if err != nil {
		return ""
	}
	return h.Path()
}
