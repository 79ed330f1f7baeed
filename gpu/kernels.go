package gpu

/*
#include <stdlib.h>
#include "cuda_calls.h"
*/
import "C"

import (
	"embed"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// The custom kernels, compiled at run time by NVRTC for the device's
// architecture, or as PTX where NVRTC does not know it (arch.go; no CUDA
// SDK at build time; CI checks they compile with clang's CUDA mode,
// scripts/gpu/compile-kernels.sh).
//
//go:embed kernels/common.cuh kernels/*.cu kernels/branch/set_branches.cu
var kernelFS embed.FS

// kernelNames are the entry points kernels/*.cu define.
var kernelNames = []string{
	"dr_add_tensor", "dr_mul", "dr_sigmoid_backward", "dr_dropout_mask", "dr_dropout_mask_from", "dr_add_bias",
	"dr_shortcut_a_forward", "dr_shortcut_a_backward", "dr_gap_forward", "dr_gap_backward",
	"dr_bias_backward", "dr_reduce", "dr_softmax_xent", "dr_sgd_update", "dr_sgd_update_lr",
	"dr_bn_stats", "dr_bn_add_relu_apply", "dr_bn_add_relu_reduce", "dr_bn_add_relu_backward",
	"dr_cast", "dr_copy_laid", "dr_fill", "dr_scale_by", "dr_unscale_check", "dr_update_scale",
}

// blockSize is the threads per block of every launch; reduce.cu's DR_BLOCK must match.
const blockSize = 256

// KernelSource is the single translation unit NVRTC compiles: common.cuh,
// then every .cu file in name order.
func KernelSource() (string, error) {
	var b strings.Builder
	common, err := kernelFS.ReadFile("kernels/common.cuh")
	if err != nil {
		return "", err
	}
	b.Write(common)
	names, err := fs.Glob(kernelFS, "kernels/*.cu")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, n := range names {
		src, err := kernelFS.ReadFile(n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "\n// ---- %s ----\n", n)
		b.Write(src)
	}
	return b.String(), nil
}

// Compiled kernels are cached per process, program and architecture:
// compiling takes a second or so, and several backends (tests) share it.
var cubins = struct {
	sync.Mutex
	m map[string][]byte
}{m: map[string][]byte{}}

func compileKernels(t kernelTarget) ([]byte, error) {
	return compileProgram("deepres_kernels.cu", KernelSource, t)
}

// compileProgram compiles the source that src returns with NVRTC for t
// into a cubin, or NUL-terminated PTX text (what cuModuleLoadData takes),
// once per process.
func compileProgram(name string, src func() (string, error), t kernelTarget) ([]byte, error) {
	arch := t.Arch
	cubins.Lock()
	defer cubins.Unlock()
	key := name + "\x00" + arch
	if c, ok := cubins.m[key]; ok {
		return c, nil
	}
	if err := loadNVRTC(); err != nil {
		return nil, err
	}
	text, err := src()
	if err != nil {
		return nil, err
	}
	c, _, err := nvrtcCompile(name, text, compileOptions(arch), t.PTX)
	if err != nil {
		return nil, err
	}
	cubins.m[key] = c
	return c, nil
}

// compileOptions are the NVRTC options of every deepres program for arch
// (CheckKernels adds ptxas's report to these, and nothing else).
func compileOptions(arch string) []string {
	return []string{"--gpu-architecture=" + arch, "--std=c++17"}
}

// nvrtcCompile compiles text with opts into a cubin (or, ptx, NUL-terminated
// PTX text) and returns it with NVRTC's program log (ptxas's report when opts
// ask for it).
func nvrtcCompile(name, text string, opts []string, ptx bool) ([]byte, string, error) {
	csrc, cname := C.CString(text), C.CString(name)
	defer C.free(unsafe.Pointer(csrc))
	defer C.free(unsafe.Pointer(cname))
	var prog C.dr_nvrtcProgram
	if err := nvrtcCheck("nvrtcCreateProgram", C.dr_nvrtcCreateProgram(&prog, csrc, cname)); err != nil {
		return nil, "", err
	}
	defer C.dr_nvrtcDestroyProgram(&prog)
	copts := C.malloc(C.size_t(len(opts)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(copts)
	optv := unsafe.Slice((**C.char)(copts), len(opts))
	for i, o := range opts {
		optv[i] = C.CString(o)
		defer C.free(unsafe.Pointer(optv[i]))
	}
	if err := nvrtcCheck("nvrtcCompileProgram", C.dr_nvrtcCompileProgram(prog, C.int(len(opts)), (**C.char)(copts))); err != nil {
		return nil, "", fmt.Errorf("compiling %s with %s: %w\n%s", name, strings.Join(opts, " "), err, programLog(prog))
	}
	out, err := programOutput(prog, ptx)
	if err != nil {
		return nil, "", err
	}
	return out, programLog(prog), nil
}

// programOutput is the compiled program's CUBIN, or its PTX with the
// terminating NUL (nvrtcGetPTXSize counts it).
func programOutput(prog C.dr_nvrtcProgram, ptx bool) ([]byte, error) {
	var n C.size_t
	var r C.dr_nvrtcResult
	what := "nvrtcGetCUBINSize"
	if ptx {
		r, what = C.dr_nvrtcGetPTXSize(prog, &n), "nvrtcGetPTXSize"
	} else {
		r = C.dr_nvrtcGetCUBINSize(prog, &n)
	}
	if err := nvrtcCheck(what, r); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: NVRTC produced nothing", what)
	}
	buf := C.malloc(n)
	defer C.free(buf)
	if ptx {
		r, what = C.dr_nvrtcGetPTX(prog, (*C.char)(buf)), "nvrtcGetPTX"
	} else {
		r, what = C.dr_nvrtcGetCUBIN(prog, (*C.char)(buf)), "nvrtcGetCUBIN"
	}
	if err := nvrtcCheck(what, r); err != nil {
		return nil, err
	}
	return C.GoBytes(buf, C.int(n)), nil
}

func programLog(prog C.dr_nvrtcProgram) string {
	var n C.size_t
	if C.dr_nvrtcGetProgramLogSize(prog, &n) != C.DR_NVRTC_SUCCESS || n <= 1 {
		return ""
	}
	buf := C.malloc(n)
	defer C.free(buf)
	if C.dr_nvrtcGetProgramLog(prog, (*C.char)(buf)) != C.DR_NVRTC_SUCCESS {
		return ""
	}
	return C.GoString((*C.char)(buf))
}

// module is the kernels loaded into one context.
type module struct {
	mod C.dr_CUmodule
	fn  map[string]C.dr_CUfunction
}

// loadModule loads cubin into the current context and looks up names.
func loadModule(cubin []byte, names []string) (*module, error) {
	img := C.CBytes(cubin)
	defer C.free(img)
	m := &module{fn: map[string]C.dr_CUfunction{}}
	if err := cuCheck("cuModuleLoadData", C.dr_cuModuleLoadData(&m.mod, img)); err != nil {
		return nil, err
	}
	for _, name := range names {
		cname := C.CString(name)
		var f C.dr_CUfunction
		err := cuCheck("cuModuleGetFunction("+name+")", C.dr_cuModuleGetFunction(&f, m.mod, cname))
		C.free(unsafe.Pointer(cname))
		if err != nil {
			C.dr_cuModuleUnload(m.mod)
			return nil, err
		}
		m.fn[name] = f
	}
	return m, nil
}

func (m *module) unload() error {
	if m == nil || m.mod == nil {
		return nil
	}
	err := cuCheck("cuModuleUnload", C.dr_cuModuleUnload(m.mod))
	m.mod = nil
	return err
}

// Kernel arguments travel as 8-byte slots (see dr_launch).
func f32(v float32) uint64 { return uint64(math.Float32bits(v)) }
func i32(v int) uint64 {
	if v > math.MaxInt32 || v < math.MinInt32 {
		panic(fmt.Sprintf("gpu: kernel argument %d does not fit in an int", v))
	}
	return uint64(uint32(int32(v)))
}
func flag(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// maxGrid caps grid-stride launches: enough blocks to fill any current GPU.
// A variable only so that tests can shrink it (SetMaxGrid, export_test.go):
// with one block every grid-stride loop must go round, at any size.
var maxGrid = 8192

// launch runs kernel name over n elements with a grid-stride grid. Called
// inside Backend.call; the launch is checked (errors of the kernel itself surface at
// the next synchronisation).
func (b *Backend) launch(name string, n int, args ...uint64) error {
	if n == 0 {
		return nil
	}
	grid := min((n+blockSize-1)/blockSize, maxGrid)
	return b.launchGrid(name, grid, args...)
}

func (b *Backend) launchGrid(name string, grid int, args ...uint64) error {
	return b.launchIn(b.mod, name, grid, args...)
}

// launchIn launches kernel name of module m on grid blocks of blockSize.
func (b *Backend) launchIn(m *module, name string, grid int, args ...uint64) error {
	if len(args) > C.DR_MAX_KERNEL_ARGS {
		panic("gpu: too many kernel arguments")
	}
	var slots [C.DR_MAX_KERNEL_ARGS]C.ulonglong
	for i, a := range args {
		slots[i] = C.ulonglong(a)
	}
	return cuCheck("cuLaunchKernel("+name+")", C.dr_launch(m.fn[name], C.uint(grid), blockSize, b.stream,
		&slots[0], C.int(len(args))))
}
