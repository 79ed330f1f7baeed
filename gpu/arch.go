package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// kernelTarget is what NVRTC compiles deepres's kernels to for one device.
type kernelTarget struct {
	Arch string // NVRTC's --gpu-architecture value: "sm_90", or "compute_90" for PTX
	PTX  bool   // PTX for the driver to JIT-compile, not a CUBIN
	Note string // why PTX, to tell the user once; empty for a CUBIN
}

func (t kernelTarget) String() string {
	if !t.PTX {
		return t.Arch + " CUBIN"
	}
	return t.Arch + " PTX (" + t.Note + ")"
}

// chooseTarget picks the target for a device of compute capability
// major.minor from the architectures NVRTC lists (nvrtcGetSupportedArchs:
// 90 for sm_90). NVRTC refuses an architecture it does not list
// (NVRTC_ERROR_INVALID_OPTION, "invalid value for --gpu-architecture"), as
// NVRTC 12.7 and older refuse every Blackwell card. A listed one gets a
// CUBIN; otherwise the kernels are PTX for the newest listed architecture
// below the device's, which the driver JIT-compiles for the device ("PTX
// code produced for some specific compute capability can always be
// compiled to binary code of greater or equal compute capability", CUDA C++
// Programming Guide, "Binary Compatibility"). A nil list (NVRTC before 11.2
// cannot say) means the device's own architecture, unchecked.
//
// PyTorch caps the architecture the same way and then compiles PTX
// (aten/src/ATen/native/cuda/jit_utils.cpp, codegenOutputQuery), but from a
// table of NVRTC versions it knows, which assumes any NVRTC from 11.8 on
// supports the device; asking NVRTC itself has no such blind spot.
func chooseTarget(major, minor int, nvrtcVersion string, supported []int) (kernelTarget, error) {
	cc := 10*major + minor
	if supported == nil || contains(supported, cc) {
		return kernelTarget{Arch: fmt.Sprintf("sm_%d", cc)}, nil
	}
	best := 0
	for _, a := range supported {
		if a <= cc && a > best {
			best = a
		}
	}
	if best == 0 {
		return kernelTarget{}, fmt.Errorf("NVRTC %s cannot compile for sm_%d: it supports sm_%d to sm_%d; use an NVRTC from an older CUDA toolkit",
			nvrtcVersion, cc, minOf(supported), maxOf(supported))
	}
	return kernelTarget{
		Arch: fmt.Sprintf("compute_%d", best),
		PTX:  true,
		Note: fmt.Sprintf("NVRTC %s does not know sm_%d; the driver JIT-compiles PTX for compute_%d", nvrtcVersion, cc, best),
	}, nil
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func minOf(s []int) int {
	m := s[0]
	for _, x := range s {
		m = min(m, x)
	}
	return m
}

func maxOf(s []int) int {
	m := s[0]
	for _, x := range s {
		m = max(m, x)
	}
	return m
}

// kernelTargetFor is chooseTarget for d with the loaded NVRTC's list.
func kernelTargetFor(d DeviceInfo) (kernelTarget, error) {
	if err := loadNVRTC(); err != nil {
		return kernelTarget{}, err
	}
	supported, err := nvrtcSupportedArchs()
	if err != nil {
		return kernelTarget{}, err
	}
	return chooseTarget(d.ComputeMajor, d.ComputeMinor, nvrtcVersion(), supported)
}

// nvrtcVersion is the loaded NVRTC's "major.minor".
func nvrtcVersion() string {
	var maj, min C.int
	C.dr_nvrtcVersion(&maj, &min)
	return fmt.Sprintf("%d.%d", maj, min)
}

// nvrtcSupportedArchs is nvrtcGetSupportedArchs's list, nil where NVRTC
// lacks the call (before 11.2; driver.go loads it as optional).
func nvrtcSupportedArchs() ([]int, error) {
	if nvrtcArchsErr != nil {
		return nil, nil
	}
	var n C.int
	if err := nvrtcCheck("nvrtcGetNumSupportedArchs", C.dr_nvrtcGetNumSupportedArchs(&n)); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, fmt.Errorf("nvrtcGetNumSupportedArchs: NVRTC lists %d architectures", n)
	}
	archs := make([]C.int, n)
	if err := nvrtcCheck("nvrtcGetSupportedArchs", C.dr_nvrtcGetSupportedArchs(&archs[0])); err != nil {
		return nil, err
	}
	s := make([]int, n)
	for i, a := range archs {
		s[i] = int(a)
	}
	return s, nil
}

// loadKernels loads what compileProgram made for t into the current
// context. The driver JIT-compiles PTX only from a CUDA release it knows:
// "the provided PTX was compiled with an unsupported toolchain" (cuda.h,
// CUDA_ERROR_UNSUPPORTED_PTX_VERSION) means NVRTC is newer than the
// driver, which the error says with both versions.
func loadKernels(img []byte, names []string, t kernelTarget, d DeviceInfo) (*module, error) {
	m, err := loadModule(img, names)
	var ce *cuError
	if t.PTX && errors.As(err, &ce) && ce.Code == C.DR_CUDA_ERROR_UNSUPPORTED_PTX_VERSION {
		return nil, fmt.Errorf("%w: the kernels are PTX from NVRTC %s (%s), which the driver (CUDA %s) cannot JIT-compile: "+
			"update the NVIDIA driver to CUDA %s or newer, or use an NVRTC no newer than the driver", err, nvrtcVersion(), t.Note, d.Driver, nvrtcVersion())
	}
	return m, err
}
