package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
)

// DeviceInfo describes one CUDA device and the libraries deepres would use
// with it (what `deepres devices` prints).
type DeviceInfo struct {
	Ordinal         int
	Name            string
	ComputeMajor    int // compute capability, e.g. 9.0 for H100
	ComputeMinor    int
	Multiprocessors int
	ComputeMode     string // "default", "exclusive-process", "prohibited" (nvidia-smi -c)
	TotalMemory     int64  // bytes
	FreeMemory      int64  // bytes, at the time of the call; -1 on a device this process has no context on
	Driver          string // CUDA version the driver supports, e.g. "13.0"
	CUDNN           string // library versions, or "unavailable: why"
	CUBLAS          string
	NVRTC           string
	// Kernels is what NVRTC compiles deepres's kernels to for this device:
	// "sm_90 CUBIN", or PTX for an older architecture with why (a device
	// newer than NVRTC), or "unavailable: why".
	Kernels string
}

// Arch is the device's architecture name for NVRTC, e.g. "sm_90"; the
// kernels are compiled for it only where NVRTC lists it (see Kernels).
func (d DeviceInfo) Arch() string { return fmt.Sprintf("sm_%d%d", d.ComputeMajor, d.ComputeMinor) }

// ListDevices loads the driver and describes every device. It creates no
// context: the driver calls it makes on a device (cuDeviceGet, its name,
// attributes and cuDeviceTotalMem_v2) need none, whereas retaining a
// primary context creates one on a device nobody uses, which takes memory
// there (every process on a shared machine would, on every GPU) and fails on
// a GPU in CU_COMPUTEMODE_EXCLUSIVE_PROCESS that another process holds or in
// CU_COMPUTEMODE_PROHIBITED (cuda.h, cuDevicePrimaryCtxRetain and
// CUDA_ERROR_DEVICE_UNAVAILABLE). Free memory needs a context
// (cuMemGetInfo_v2 reads the current context's device; NVML, which reads it
// without one, is not among deepres's libraries), so it is read only on a
// device this process already holds (Open retains its device's primary
// context), and is -1 elsewhere. No device wraps ErrNoDevice; no driver wraps
// ErrLibraryNotFound.
func ListDevices() ([]DeviceInfo, error) {
	if err := loadCUDA(); err != nil {
		return nil, noDevice(err)
	}
	// Context calls bind to the calling OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var n C.int
	if err := cuCheck("cuDeviceGetCount", C.dr_cuDeviceGetCount(&n)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("the driver sees no GPU: %w", ErrNoDevice)
	}
	var dv C.int
	if err := cuCheck("cuDriverGetVersion", C.dr_cuDriverGetVersion(&dv)); err != nil {
		return nil, err
	}
	libs := libraryVersions()
	var infos []DeviceInfo
	for i := range int(n) {
		d, err := describe(i)
		if err != nil {
			return nil, err
		}
		d.Driver = fmt.Sprintf("%d.%d", dv/1000, dv%1000/10)
		d.CUDNN, d.CUBLAS, d.NVRTC = libs[0], libs[1], libs[2]
		d.Kernels = "unavailable: no NVRTC"
		if t, err := kernelTargetFor(d); err == nil {
			d.Kernels = t.String()
		} else if loadNVRTC() == nil {
			d.Kernels = "unavailable: " + err.Error()
		}
		infos = append(infos, d)
	}
	return infos, nil
}

// noDevice maps cuInit's CUDA_ERROR_NO_DEVICE to ErrNoDevice.
func noDevice(err error) error {
	var ce *cuError
	if errors.As(err, &ce) && ce.Code == C.DR_CUDA_ERROR_NO_DEVICE {
		return fmt.Errorf("%w: %w", ErrNoDevice, err)
	}
	return err
}

func describe(ordinal int) (DeviceInfo, error) {
	d := DeviceInfo{Ordinal: ordinal}
	var dev C.dr_CUdevice
	if err := cuCheck("cuDeviceGet", C.dr_cuDeviceGet(&dev, C.int(ordinal))); err != nil {
		return d, err
	}
	var name [256]C.char
	if err := cuCheck("cuDeviceGetName", C.dr_cuDeviceGetName(&name[0], C.int(len(name)), dev)); err != nil {
		return d, err
	}
	d.Name = C.GoString(&name[0])
	for _, a := range []struct {
		attr C.dr_CUdevice_attribute
		dst  *int
	}{
		{C.DR_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &d.ComputeMajor},
		{C.DR_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &d.ComputeMinor},
		{C.DR_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, &d.Multiprocessors},
	} {
		var v C.int
		if err := cuCheck("cuDeviceGetAttribute", C.dr_cuDeviceGetAttribute(&v, a.attr, dev)); err != nil {
			return d, err
		}
		*a.dst = int(v)
	}
	var mode C.int
	if err := cuCheck("cuDeviceGetAttribute", C.dr_cuDeviceGetAttribute(&mode, C.DR_CU_DEVICE_ATTRIBUTE_COMPUTE_MODE, dev)); err != nil {
		return d, err
	}
	d.ComputeMode = computeMode(mode)
	var total C.size_t
	if err := cuCheck("cuDeviceTotalMem_v2", C.dr_cuDeviceTotalMem(&total, dev)); err != nil {
		return d, err
	}
	d.TotalMemory = int64(total)
	d.FreeMemory = -1
	ctx, ok := primary.held(dev)
	if !ok {
		return d, nil
	}
	defer C.dr_cuCtxSetCurrent(nil)
	if err := cuCheck("cuCtxSetCurrent", C.dr_cuCtxSetCurrent(ctx)); err != nil {
		return d, err
	}
	var free, tot C.size_t
	if err := cuCheck("cuMemGetInfo_v2", C.dr_cuMemGetInfo(&free, &tot)); err != nil {
		return d, err
	}
	d.FreeMemory = int64(free)
	return d, nil
}

// computeMode names a CUcomputemode (cuda.h) as nvidia-smi's --compute-mode does.
func computeMode(m C.int) string {
	switch m {
	case C.DR_CU_COMPUTEMODE_DEFAULT:
		return "default"
	case C.DR_CU_COMPUTEMODE_PROHIBITED:
		return "prohibited"
	case C.DR_CU_COMPUTEMODE_EXCLUSIVE_PROCESS:
		return "exclusive-process"
	}
	return fmt.Sprintf("compute mode %d", m)
}

// libraryVersions returns cuDNN's, cuBLAS's and NVRTC's versions, or why
// each is unavailable.
func libraryVersions() [3]string {
	l := FindLibraries()
	v := func(x Library) string {
		if x.Err != nil {
			return x.String()
		}
		return x.Version
	}
	return [3]string{v(l.CUDNN), v(l.CUBLAS), v(l.NVRTC)}
}
