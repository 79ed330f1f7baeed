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
	TotalMemory     int64  // bytes
	FreeMemory      int64  // bytes, at the time of the call
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

// ListDevices loads the driver and describes every device. It makes each
// device's primary context current briefly to read its free memory (the
// context is retained once per process; see primary). No device wraps
// ErrNoDevice; no driver wraps ErrLibraryNotFound.
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
	var total C.size_t
	if err := cuCheck("cuDeviceTotalMem_v2", C.dr_cuDeviceTotalMem(&total, dev)); err != nil {
		return d, err
	}
	d.TotalMemory = int64(total)
	ctx, err := primaryContext(dev) // kept for the process: see primary
	if err != nil {
		return d, err
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
