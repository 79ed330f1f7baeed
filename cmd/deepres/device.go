package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/deepres/deepres/gpu"
	"github.com/deepres/deepres/ops"
)

// openDevice opens the backend --device names: auto (a GPU when one works,
// else the CPU, saying which), cpu, cuda or cuda:N. math is tf32 or fp32.
func openDevice(spec, math string) (ops.Backend, error) {
	var mode gpu.MathMode
	switch math {
	case "tf32":
		mode = gpu.TF32
	case "fp32":
		mode = gpu.FP32
	default:
		return nil, usagef("--math: want tf32 or fp32, got %q", math)
	}
	switch {
	case spec == "cpu":
		return newCPU(), nil
	case spec == "auto":
		b, err := gpu.Open(0, gpu.Options{Math: mode})
		if err != nil {
			fmt.Fprintf(os.Stderr, "deepres: no usable GPU (%v); running on the CPU ('deepres devices' says more)\n", firstLine(err))
			return newCPU(), nil
		}
		fmt.Fprintf(os.Stderr, "deepres: using %s\n", b.Name())
		return b, nil
	case spec == "cuda" || strings.HasPrefix(spec, "cuda:"):
		n := 0
		if s, ok := strings.CutPrefix(spec, "cuda:"); ok {
			var err error
			if n, err = strconv.Atoi(s); err != nil || n < 0 {
				return nil, usagef("--device: %q is not cuda:N with N a device number", spec)
			}
		}
		b, err := gpu.Open(n, gpu.Options{Math: mode})
		if err != nil {
			return nil, fmt.Errorf("no usable GPU: %w", err)
		}
		return b, nil
	}
	return nil, usagef("--device: want auto, cpu, cuda or cuda:N, got %q", spec)
}

// firstLine is the gist of a multi-line error, without its list of places tried.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	s, _, _ = strings.Cut(s, "; tried:")
	return strings.TrimSuffix(s, ":")
}

func runDevices(args []string) error {
	fs := newFlags("devices", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	// The libraries first: they load without a driver, so a machine without
	// a GPU still sees which ones deepres would use.
	libs := gpu.FindLibraries()
	cudnnFor := ""
	if libs.CUDAMajor > 0 {
		cudnnFor = fmt.Sprintf(", built for CUDA %d", libs.CUDAMajor)
	}
	fmt.Printf("cuDNN   %s%s\ncuBLAS  %s\nNVRTC   %s\ndriver  %s\n", libs.CUDNN, cudnnFor, libs.CUBLAS, libs.NVRTC, libs.Driver)
	devs, err := gpu.ListDevices()
	if err != nil {
		return fmt.Errorf("no usable GPU: %w", err)
	}
	if len(devs) == 0 {
		return fmt.Errorf("the NVIDIA driver reports no CUDA devices")
	}
	// Free memory is not shown: reading it needs a context on the device,
	// which listing devices does not create (gpu.ListDevices).
	for _, d := range devs {
		fmt.Printf("cuda:%d  %s  sm_%d%d  %d SMs  %.1f GiB  compute mode %s  driver CUDA %s  cuDNN %s  cuBLAS %s  NVRTC %s  kernels %s\n",
			d.Ordinal, d.Name, d.ComputeMajor, d.ComputeMinor, d.Multiprocessors, float64(d.TotalMemory)/(1<<30),
			d.ComputeMode, d.Driver, d.CUDNN, d.CUBLAS, d.NVRTC, d.Kernels)
	}
	return nil
}
