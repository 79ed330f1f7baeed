package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/deepres/deepres/cudnn"
	"github.com/deepres/deepres/internal/dl"
)

// Each library is loaded once per process; the first result is kept.
var (
	cudaOnce, blasOnce, nvrtcOnce sync.Once
	cudaErr, blasErr, nvrtcErr    error
	graphErr                      error // the graph API did not load (graph.go)
	branchErr                     error // conditional nodes did not load (branch.go)
	nvrtcArchsErr                 error // NVRTC before 11.2: no nvrtcGetSupportedArchs (arch.go)
)

func ptr[T any](field *T) *unsafe.Pointer { return (*unsafe.Pointer)(unsafe.Pointer(field)) }

// loadCUDA loads libcuda.so.1, fills dr_cu and calls cuInit.
func loadCUDA() error {
	cudaOnce.Do(func() {
		h, err := dl.Open(dl.CUDA)
		if err != nil {
			cudaErr = err
			return
		}
		t := &C.dr_cu
		cudaErr = h.Load([]dl.Symbol{
			{Name: "cuInit", Dst: ptr(&t.cuInit)},
			{Name: "cuDriverGetVersion", Dst: ptr(&t.cuDriverGetVersion)},
			{Name: "cuDeviceGetCount", Dst: ptr(&t.cuDeviceGetCount)},
			{Name: "cuDeviceGet", Dst: ptr(&t.cuDeviceGet)},
			{Name: "cuDeviceGetName", Dst: ptr(&t.cuDeviceGetName)},
			{Name: "cuDeviceGetAttribute", Dst: ptr(&t.cuDeviceGetAttribute)},
			{Name: "cuDeviceTotalMem_v2", Dst: ptr(&t.cuDeviceTotalMem_v2)},
			{Name: "cuDevicePrimaryCtxRetain", Dst: ptr(&t.cuDevicePrimaryCtxRetain)},
			{Name: "cuDevicePrimaryCtxRelease_v2", Dst: ptr(&t.cuDevicePrimaryCtxRelease_v2)},
			{Name: "cuCtxSetCurrent", Dst: ptr(&t.cuCtxSetCurrent)},
			{Name: "cuMemGetInfo_v2", Dst: ptr(&t.cuMemGetInfo_v2)},
			{Name: "cuMemAlloc_v2", Dst: ptr(&t.cuMemAlloc_v2)},
			{Name: "cuMemFree_v2", Dst: ptr(&t.cuMemFree_v2)},
			{Name: "cuMemHostAlloc", Dst: ptr(&t.cuMemHostAlloc)},
			{Name: "cuMemFreeHost", Dst: ptr(&t.cuMemFreeHost)},
			{Name: "cuMemcpyHtoDAsync_v2", Dst: ptr(&t.cuMemcpyHtoDAsync_v2)},
			{Name: "cuMemcpyDtoHAsync_v2", Dst: ptr(&t.cuMemcpyDtoHAsync_v2)},
			{Name: "cuMemcpyDtoDAsync_v2", Dst: ptr(&t.cuMemcpyDtoDAsync_v2)},
			{Name: "cuMemsetD32Async", Dst: ptr(&t.cuMemsetD32Async)},
			{Name: "cuStreamCreate", Dst: ptr(&t.cuStreamCreate)},
			{Name: "cuStreamDestroy_v2", Dst: ptr(&t.cuStreamDestroy_v2)},
			{Name: "cuStreamSynchronize", Dst: ptr(&t.cuStreamSynchronize)},
			{Name: "cuModuleLoadData", Dst: ptr(&t.cuModuleLoadData)},
			{Name: "cuModuleUnload", Dst: ptr(&t.cuModuleUnload)},
			{Name: "cuModuleGetFunction", Dst: ptr(&t.cuModuleGetFunction)},
			{Name: "cuLaunchKernel", Dst: ptr(&t.cuLaunchKernel)},
			{Name: "cuGetErrorString", Dst: ptr(&t.cuGetErrorString)},
			{Name: "cuGetErrorName", Dst: ptr(&t.cuGetErrorName)},
		})
		if cudaErr == nil {
			cudaErr = cuCheck("cuInit", C.dr_cuInit())
		}
		if cudaErr == nil {
			// Optional: a driver without them runs eagerly (graph.go).
			graphErr = h.Load([]dl.Symbol{
				{Name: "cuStreamBeginCapture_v2", Dst: ptr(&t.cuStreamBeginCapture_v2)},
				{Name: "cuStreamEndCapture", Dst: ptr(&t.cuStreamEndCapture)},
				{Name: "cuStreamIsCapturing", Dst: ptr(&t.cuStreamIsCapturing)},
				{Name: "cuGraphInstantiateWithFlags", Dst: ptr(&t.cuGraphInstantiateWithFlags)},
				{Name: "cuGraphLaunch", Dst: ptr(&t.cuGraphLaunch)},
				{Name: "cuGraphExecDestroy", Dst: ptr(&t.cuGraphExecDestroy)},
				{Name: "cuGraphDestroy", Dst: ptr(&t.cuGraphDestroy)},
			})
			// Optional too: conditional nodes (CUDA 12.3+) let stochastic
			// depth be captured (branch.go).
			branchErr = h.Load([]dl.Symbol{
				{Name: "cuGraphCreate", Dst: ptr(&t.cuGraphCreate)},
				{Name: "cuGraphGetNodes", Dst: ptr(&t.cuGraphGetNodes)},
				{Name: "cuGraphAddChildGraphNode", Dst: ptr(&t.cuGraphAddChildGraphNode)},
				{Name: "cuGraphConditionalHandleCreate", Dst: ptr(&t.cuGraphConditionalHandleCreate)},
				{Name: "cuGraphAddNode_v2", Dst: ptr(&t.cuGraphAddNode_v2)},
			})
		}
	})
	return cudaErr
}

// cudaMajor is the CUDA major version whose cuBLAS and NVRTC go with the
// cuDNN built against CUDA runtime cudart (cudnnGetCudartVersion(), e.g.
// 12080 → 12); 0, as when cuDNN did not load, states no preference.
func cudaMajor(cudart int) int { return cudart / 1000 }

// openForCUDNN opens lib, first restricted to the CUDA major of the loaded
// cuDNN (in every place: see dl.Library.Major), then as it is. cuDNN dlopens
// its major's libcublasLt.so.N by soname, which a wheel folder off the
// linker's path satisfies only if deepres preloaded it (dl.Variant's Before):
// cuBLAS 13 beside a cuDNN built for CUDA 12 would leave cuDNN without its
// libcublasLt.so.12, so cuBLAS is never taken from another major.
func openForCUDNN(lib dl.Library) (*dl.Handle, error) {
	cudart := cudnnCUDART()
	ls := libraryOrder(lib, cudart)
	for _, l := range ls[:len(ls)-1] {
		if h, err := dl.Open(l); err == nil {
			return h, nil
		}
	}
	h, err := dl.Open(ls[len(ls)-1]) // its error lists every place and soname
	if err != nil && len(ls) == 1 && ls[0].Name == dl.CUBLAS.Name && cudaMajor(cudart) > 0 {
		return nil, fmt.Errorf("cuDNN is built for CUDA %d (cudnnGetCudartVersion %d) and loads libcublasLt.so.%[1]d itself, "+
			"so deepres needs cuBLAS for CUDA %[1]d beside it: %[3]w", cudaMajor(cudart), cudart, err)
	}
	return h, err
}

// libraryOrder is what openForCUDNN tries: lib restricted to cuDNN's CUDA
// major (from its cudnnGetCudartVersion() value cudart), when it has such
// variants, then lib. cuBLAS gets that major alone: cuDNN dlopens its own
// major's libcublasLt (the cu12 wheel's libcudnn_adv.so.9 and
// libcudnn_engines_precompiled.so.9 name libcublasLt.so.12), which a
// cuBLAS of another major does not provide.
func libraryOrder(lib dl.Library, cudart int) []dl.Library {
	if m, ok := lib.Major(cudaMajor(cudart)); ok {
		if lib.Name == dl.CUBLAS.Name {
			return []dl.Library{m}
		}
		return []dl.Library{m, lib}
	}
	return []dl.Library{lib}
}

// cudnnCUDART is the loaded cuDNN's cudnnGetCudartVersion(), 0 without cuDNN.
func cudnnCUDART() int {
	if cudnn.Load() != nil {
		return 0
	}
	return cudnn.CudartVersion()
}

func loadCUBLAS() error {
	blasOnce.Do(func() {
		h, err := openForCUDNN(dl.CUBLAS)
		if err != nil {
			blasErr = err
			return
		}
		t := &C.dr_cublas
		blasErr = h.Load([]dl.Symbol{
			{Name: "cublasCreate_v2", Dst: ptr(&t.cublasCreate_v2)},
			{Name: "cublasDestroy_v2", Dst: ptr(&t.cublasDestroy_v2)},
			{Name: "cublasSetStream_v2", Dst: ptr(&t.cublasSetStream_v2)},
			{Name: "cublasSetMathMode", Dst: ptr(&t.cublasSetMathMode)},
			// Required: without it a captured GEMM allocates inside the
			// graph (blasWorkspaceBytes). Exported by cuBLAS 12 and 13 (the
			// only majors deepres loads; checked in the wheels 12.8.4.1
			// and 13.10.0.20).
			{Name: "cublasSetWorkspace_v2", Dst: ptr(&t.cublasSetWorkspace_v2)},
			{Name: "cublasGetProperty", Dst: ptr(&t.cublasGetProperty)},
			{Name: "cublasGetStatusString", Dst: ptr(&t.cublasGetStatusString)},
			{Name: "cublasSgemm_v2", Dst: ptr(&t.cublasSgemm_v2)},
			{Name: "cublasGemmEx", Dst: ptr(&t.cublasGemmEx)},
		})
	})
	return blasErr
}

func loadNVRTC() error {
	nvrtcOnce.Do(func() {
		h, err := openForCUDNN(dl.NVRTC)
		if err != nil {
			nvrtcErr = err
			return
		}
		t := &C.dr_nvrtc
		nvrtcErr = h.Load([]dl.Symbol{
			{Name: "nvrtcGetErrorString", Dst: ptr(&t.nvrtcGetErrorString)},
			{Name: "nvrtcVersion", Dst: ptr(&t.nvrtcVersion)},
			{Name: "nvrtcCreateProgram", Dst: ptr(&t.nvrtcCreateProgram)},
			{Name: "nvrtcDestroyProgram", Dst: ptr(&t.nvrtcDestroyProgram)},
			{Name: "nvrtcCompileProgram", Dst: ptr(&t.nvrtcCompileProgram)},
			{Name: "nvrtcGetProgramLogSize", Dst: ptr(&t.nvrtcGetProgramLogSize)},
			{Name: "nvrtcGetProgramLog", Dst: ptr(&t.nvrtcGetProgramLog)},
			{Name: "nvrtcGetCUBINSize", Dst: ptr(&t.nvrtcGetCUBINSize)},
			{Name: "nvrtcGetCUBIN", Dst: ptr(&t.nvrtcGetCUBIN)},
			{Name: "nvrtcGetPTXSize", Dst: ptr(&t.nvrtcGetPTXSize)},
			{Name: "nvrtcGetPTX", Dst: ptr(&t.nvrtcGetPTX)},
		})
		if nvrtcErr == nil {
			// Optional: NVRTC 11.2+ lists the architectures it compiles for.
			nvrtcArchsErr = h.Load([]dl.Symbol{
				{Name: "nvrtcGetNumSupportedArchs", Dst: ptr(&t.nvrtcGetNumSupportedArchs)},
				{Name: "nvrtcGetSupportedArchs", Dst: ptr(&t.nvrtcGetSupportedArchs)},
			})
		}
	})
	return nvrtcErr
}

// cuError is a failed driver call; Code lets callers test for out-of-memory.
type cuError struct {
	Call string
	Code C.dr_CUresult
}

func (e *cuError) Error() string {
	name, desc := C.dr_cuErrorString(e.Code), C.dr_cuErrorDescription(e.Code)
	if name == nil {
		return fmt.Sprintf("%s: CUDA error %d", e.Call, int(e.Code))
	}
	if desc == nil {
		return fmt.Sprintf("%s: %s", e.Call, C.GoString(name))
	}
	return fmt.Sprintf("%s: %s (%s)", e.Call, C.GoString(name), C.GoString(desc))
}

func cuCheck(call string, r C.dr_CUresult) error {
	if r == C.DR_CUDA_SUCCESS {
		return nil
	}
	return &cuError{Call: call, Code: r}
}

func blasCheck(call string, s C.dr_cublasStatus) error {
	if s == C.DR_CUBLAS_STATUS_SUCCESS {
		return nil
	}
	return fmt.Errorf("%s: %s", call, C.GoString(C.dr_cublasGetStatusString(s)))
}

func nvrtcCheck(call string, r C.dr_nvrtcResult) error {
	if r == C.DR_NVRTC_SUCCESS {
		return nil
	}
	return fmt.Errorf("%s: %s", call, C.GoString(C.dr_nvrtcGetErrorString(r)))
}
