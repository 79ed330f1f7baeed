package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/deepres/deepres/internal/dl"
)

// KernelUsage is ptxas's account of one function of a deepres program
// compiled for one architecture (NVRTC's --ptxas-options=-v, in the
// program log).
type KernelUsage struct {
	Program     string // "deepres_kernels.cu" or "deepres_branches.cu"
	Function    string
	Arch        string
	Registers   int
	SharedBytes int // static shared memory ("smem")
	StackBytes  int // stack frame
	SpillStores int // bytes
	SpillLoads  int // bytes
}

// NVRTCInfo says which NVRTC was loaded, its version and the architectures
// it compiles for (nvrtcGetSupportedArchs), without touching the driver.
func NVRTCInfo() (path string, major, minor int, archs []int, err error) {
	if err := loadNVRTC(); err != nil {
		return "", 0, 0, nil, err
	}
	h, err := openForCUDNN(dl.NVRTC) // the library loadNVRTC filled the table from
	if err != nil {
		return "", 0, 0, nil, err
	}
	var maj, min C.int
	if err := nvrtcCheck("nvrtcVersion", C.dr_nvrtcVersion(&maj, &min)); err != nil {
		return "", 0, 0, nil, err
	}
	if nvrtcArchsErr != nil {
		return "", 0, 0, nil, fmt.Errorf("NVRTC %d.%d cannot list its architectures: %w", maj, min, nvrtcArchsErr)
	}
	if archs, err = nvrtcSupportedArchs(); err != nil {
		return "", 0, 0, nil, err
	}
	return h.Path(), int(maj), int(min), archs, nil
}

// CheckKernels compiles deepres's kernels and the conditional-node setter
// for arch to CUBINs exactly as Open and CanBranch do (nvrtcCompile with
// compileOptions), adding only ptxas's report, and returns every function's
// registers, shared memory, stack and spills. Needs NVRTC, not the driver.
func CheckKernels(arch string) ([]KernelUsage, error) {
	if err := loadNVRTC(); err != nil {
		return nil, err
	}
	var all []KernelUsage
	for _, p := range []struct {
		name string
		src  func() (string, error)
	}{{"deepres_kernels.cu", KernelSource}, {"deepres_branches.cu", branchSource}} {
		text, err := p.src()
		if err != nil {
			return nil, err
		}
		_, log, err := nvrtcCompile(p.name, text, append(compileOptions(arch), "--ptxas-options=-v"), false)
		if err != nil {
			return nil, err
		}
		us, err := parsePtxasLog(log)
		if err != nil {
			return nil, fmt.Errorf("gpu: %s for %s: %w\n%s", p.name, arch, err, log)
		}
		for _, u := range us {
			u.Program, u.Arch = p.name, arch
			all = append(all, u)
		}
	}
	return all, nil
}

var (
	ptxasFunc  = regexp.MustCompile(`^ptxas info\s*: Function properties for (\S+)`)
	ptxasFrame = regexp.MustCompile(`(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads`)
	ptxasUsed  = regexp.MustCompile(`^ptxas info\s*: Used (\d+) registers`)
	ptxasSmem  = regexp.MustCompile(`(\d+) bytes smem`)
)

// parsePtxasLog reads ptxas -v's report: for each function a "Function
// properties for NAME" line, then its stack frame and spills (NVRTC 12.8
// prefixes that line with "ptxas .", 12.3 did not), then (for entry
// functions) "Used N registers, ... M bytes smem, ...". A function without
// its spill line is an error: a report this cannot read must not pass as
// "no spills".
func parsePtxasLog(log string) ([]KernelUsage, error) {
	var us []KernelUsage
	framed := map[int]bool{}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n } // \d+ only
	for _, line := range regexp.MustCompile(`\r?\n`).Split(log, -1) {
		if m := ptxasFunc.FindStringSubmatch(line); m != nil {
			us = append(us, KernelUsage{Function: m[1]})
			continue
		}
		if len(us) == 0 {
			continue
		}
		u := &us[len(us)-1]
		if m := ptxasFrame.FindStringSubmatch(line); m != nil {
			u.StackBytes, u.SpillStores, u.SpillLoads = atoi(m[1]), atoi(m[2]), atoi(m[3])
			framed[len(us)-1] = true
		}
		if m := ptxasUsed.FindStringSubmatch(line); m != nil {
			u.Registers = atoi(m[1])
			if s := ptxasSmem.FindStringSubmatch(line); s != nil {
				u.SharedBytes = atoi(s[1])
			}
		}
	}
	if len(us) == 0 {
		return nil, fmt.Errorf("no function in ptxas's report")
	}
	for i, u := range us {
		if !framed[i] {
			return nil, fmt.Errorf("ptxas's report has no stack frame and spill line for %s", u.Function)
		}
	}
	return us, nil
}
