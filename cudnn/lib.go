package cudnn

/*
#include "cudnn_calls.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/deepres/deepres/internal/dl"
)

var (
	loadOnce sync.Once
	loadErr  error
	version  int
	cudart   int
)

// Load finds libcudnn.so.9, resolves every function deepres calls and checks
// that the library is cuDNN 9 (our prototypes are cuDNN 9's). It is safe to
// call many times; the first result is kept. Not finding the library wraps
// dl.ErrNotFound.
func Load() error {
	loadOnce.Do(func() { loadErr = load() })
	return loadErr
}

func load() error {
	h, err := dl.Open(dl.CUDNN)
	if err != nil {
		return err
	}
	t := &C.dr_dnn
	syms := []dl.Symbol{
		{Name: "cudnnGetVersion", Dst: ptr(&t.cudnnGetVersion)},
		{Name: "cudnnGetCudartVersion", Dst: ptr(&t.cudnnGetCudartVersion)},
		{Name: "cudnnGetErrorString", Dst: ptr(&t.cudnnGetErrorString)},
		{Name: "cudnnCreate", Dst: ptr(&t.cudnnCreate)},
		{Name: "cudnnDestroy", Dst: ptr(&t.cudnnDestroy)},
		{Name: "cudnnSetStream", Dst: ptr(&t.cudnnSetStream)},
		{Name: "cudnnCreateTensorDescriptor", Dst: ptr(&t.cudnnCreateTensorDescriptor)},
		{Name: "cudnnSetTensor4dDescriptor", Dst: ptr(&t.cudnnSetTensor4dDescriptor)},
		{Name: "cudnnDestroyTensorDescriptor", Dst: ptr(&t.cudnnDestroyTensorDescriptor)},
		{Name: "cudnnCreateFilterDescriptor", Dst: ptr(&t.cudnnCreateFilterDescriptor)},
		{Name: "cudnnSetFilter4dDescriptor", Dst: ptr(&t.cudnnSetFilter4dDescriptor)},
		{Name: "cudnnDestroyFilterDescriptor", Dst: ptr(&t.cudnnDestroyFilterDescriptor)},
		{Name: "cudnnCreateConvolutionDescriptor", Dst: ptr(&t.cudnnCreateConvolutionDescriptor)},
		{Name: "cudnnSetConvolution2dDescriptor", Dst: ptr(&t.cudnnSetConvolution2dDescriptor)},
		{Name: "cudnnSetConvolutionMathType", Dst: ptr(&t.cudnnSetConvolutionMathType)},
		{Name: "cudnnDestroyConvolutionDescriptor", Dst: ptr(&t.cudnnDestroyConvolutionDescriptor)},
		{Name: "cudnnCreateActivationDescriptor", Dst: ptr(&t.cudnnCreateActivationDescriptor)},
		{Name: "cudnnSetActivationDescriptor", Dst: ptr(&t.cudnnSetActivationDescriptor)},
		{Name: "cudnnDestroyActivationDescriptor", Dst: ptr(&t.cudnnDestroyActivationDescriptor)},
		{Name: "cudnnFindConvolutionForwardAlgorithmEx", Dst: ptr(&t.cudnnFindConvolutionForwardAlgorithmEx)},
		{Name: "cudnnConvolutionForward", Dst: ptr(&t.cudnnConvolutionForward)},
		{Name: "cudnnFindConvolutionBackwardDataAlgorithmEx", Dst: ptr(&t.cudnnFindConvolutionBackwardDataAlgorithmEx)},
		{Name: "cudnnConvolutionBackwardData", Dst: ptr(&t.cudnnConvolutionBackwardData)},
		{Name: "cudnnFindConvolutionBackwardFilterAlgorithmEx", Dst: ptr(&t.cudnnFindConvolutionBackwardFilterAlgorithmEx)},
		{Name: "cudnnConvolutionBackwardFilter", Dst: ptr(&t.cudnnConvolutionBackwardFilter)},
		{Name: "cudnnBatchNormalizationForwardTraining", Dst: ptr(&t.cudnnBatchNormalizationForwardTraining)},
		{Name: "cudnnBatchNormalizationForwardInference", Dst: ptr(&t.cudnnBatchNormalizationForwardInference)},
		{Name: "cudnnBatchNormalizationBackward", Dst: ptr(&t.cudnnBatchNormalizationBackward)},
		{Name: "cudnnDeriveBNTensorDescriptor", Dst: ptr(&t.cudnnDeriveBNTensorDescriptor)},
		{Name: "cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize", Dst: ptr(&t.cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize)},
		{Name: "cudnnGetBatchNormalizationBackwardExWorkspaceSize", Dst: ptr(&t.cudnnGetBatchNormalizationBackwardExWorkspaceSize)},
		{Name: "cudnnGetBatchNormalizationTrainingExReserveSpaceSize", Dst: ptr(&t.cudnnGetBatchNormalizationTrainingExReserveSpaceSize)},
		{Name: "cudnnBatchNormalizationForwardTrainingEx", Dst: ptr(&t.cudnnBatchNormalizationForwardTrainingEx)},
		{Name: "cudnnBatchNormalizationBackwardEx", Dst: ptr(&t.cudnnBatchNormalizationBackwardEx)},
		{Name: "cudnnActivationForward", Dst: ptr(&t.cudnnActivationForward)},
		{Name: "cudnnActivationBackward", Dst: ptr(&t.cudnnActivationBackward)},
	}
	if err := h.Load(syms); err != nil {
		return err
	}
	version = int(C.dr_cudnnGetVersion())
	cudart = int(C.dr_cudnnGetCudartVersion())
	if version < 90000 || version >= 100000 {
		return fmt.Errorf("%s is cuDNN version %d; deepres needs cuDNN 9 (its prototypes are cuDNN 9's)", h.Path(), version)
	}
	return nil
}

// ptr views a C function-pointer field as the unsafe.Pointer dl.Load fills.
func ptr[T any](field *T) *unsafe.Pointer { return (*unsafe.Pointer)(unsafe.Pointer(field)) }

// Version is cudnnGetVersion() of the loaded library (e.g. 90600 for 9.6.0),
// or 0 before a successful Load.
func Version() int { return version }

// CudartVersion is cudnnGetCudartVersion() of the loaded library: the CUDA
// runtime version cuDNN was built against (12080 for 12.8, 13000 for 13.0;
// cuDNN API reference, cudnn_graph library), or 0 before a successful Load.
// The gpu package loads the cuBLAS and NVRTC of the same CUDA major, since
// cuDNN itself loads that major's libcublasLt.
func CudartVersion() int { return cudart }

// check turns a cuDNN status into an error naming the call. The text comes
// from cudnnGetErrorString: cuDNN 9 renumbered its codes, so no meaning is
// hard-coded here.
func check(call string, s C.dr_cudnnStatus) error {
	if s == C.DR_CUDNN_STATUS_SUCCESS {
		return nil
	}
	return &statusError{call: call, text: C.GoString(C.dr_cudnnGetErrorString(s)), status: uint(s)}
}

// ErrNotSupported is what errors.Is finds in the error of a call cuDNN
// answered with CUDNN_STATUS_NOT_SUPPORTED or one of its refinements
// (3000-3999, cudnn_graph.h): "the function does not support the provided
// configuration" — a capability to fall back from, not a failure.
var ErrNotSupported = errors.New("cudnn: configuration not supported")

type statusError struct {
	call, text string
	status     uint
}

func (e *statusError) Error() string { return e.call + ": " + e.text }

func (e *statusError) Is(target error) bool {
	return target == ErrNotSupported && e.status/1000 == C.DR_CUDNN_STATUS_NOT_SUPPORTED/1000
}
