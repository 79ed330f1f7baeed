package cudnn

/*
#include "cudnn_calls.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Ptr is a device address (the CUDA driver's CUdeviceptr).
type Ptr = uint64

// DataType is the element type of a tensor or filter in device memory.
// Arithmetic is float whatever it is: a convolution's compute type stays
// CUDNN_DATA_FLOAT (cuDNN's PSEUDO_HALF_CONFIG and PSEUDO_BFLOAT16_CONFIG),
// batch norm keeps float parameters and statistics.
type DataType uint8

const (
	Float    DataType = iota // CUDNN_DATA_FLOAT; the zero value
	BFloat16                 // CUDNN_DATA_BFLOAT16
	Half                     // CUDNN_DATA_HALF (IEEE binary16)
)

func (t DataType) String() string {
	switch t {
	case Float:
		return "float"
	case BFloat16:
		return "bfloat16"
	case Half:
		return "half"
	}
	return fmt.Sprintf("DataType(%d)", uint8(t))
}

func (t DataType) cudnn() C.dr_cudnnDataType {
	switch t {
	case Float:
		return C.DR_CUDNN_DATA_FLOAT
	case BFloat16:
		return C.DR_CUDNN_DATA_BFLOAT16
	case Half:
		return C.DR_CUDNN_DATA_HALF
	}
	panic(fmt.Sprintf("cudnn: unknown %v", t))
}

// Layout is the memory order of a packed tensor whose logical shape is
// always N, C, H, W (as PyTorch's channels_last: the shape is NCHW, the
// memory NHWC).
type Layout uint8

const (
	NCHW Layout = iota // CUDNN_TENSOR_NCHW (filters KCRS); the zero value
	NHWC               // CUDNN_TENSOR_NHWC: channels innermost (filters KRSC)
)

func (l Layout) String() string {
	switch l {
	case NCHW:
		return "NCHW"
	case NHWC:
		return "NHWC"
	}
	return fmt.Sprintf("Layout(%d)", uint8(l))
}

func (l Layout) cudnn() C.dr_cudnnTensorFormat {
	switch l {
	case NCHW:
		return C.DR_CUDNN_TENSOR_NCHW
	case NHWC:
		return C.DR_CUDNN_TENSOR_NHWC
	}
	panic(fmt.Sprintf("cudnn: unknown %v", l))
}

// Shape4 is a packed tensor, or a (K,C,kh,kw) filter in N, C, H, W, with its
// element type and memory layout. Descriptors are cached per Shape4, so one
// shape in two types or layouts has two.
type Shape4 struct {
	N, C, H, W int
	Type       DataType
	Layout     Layout
}

// Math selects what convolutions may use on tensor cores.
type Math int

const (
	// TF32 allows TensorFloat-32 on Ampere and later (CUDNN_DEFAULT_MATH: per
	// cuDNN's docs, tensor-core TF32 is permitted for float data from A100 on).
	TF32 Math = iota
	// FP32 restricts convolutions to FMA kernels (CUDNN_FMA_MATH): strict
	// float32, the mode the conformance suite compares with cpuref.
	FP32
)

func (m Math) cudnn() C.dr_cudnnMathType {
	if m == FP32 {
		return C.DR_CUDNN_FMA_MATH
	}
	return C.DR_CUDNN_DEFAULT_MATH
}

// Handle is a cuDNN handle bound to one stream, with its descriptors cached
// per shape. It is used on an OS thread where its CUDA context is current
// (inside the gpu package's Backend.call), one call at a time: it is not
// safe for concurrent use.
type Handle struct {
	h       C.dr_cudnnHandle
	math    Math
	tensors map[Shape4]C.dr_cudnnTensorDesc
	filters map[Shape4]C.dr_cudnnFilterDesc
	bnParam map[Shape4]C.dr_cudnnTensorDesc // keyed by x's shape and type
	convs   map[convKey]*convPlan
	relu    C.dr_cudnnActivationDesc
	sigmoid C.dr_cudnnActivationDesc
}

// NewHandle creates a handle on the current CUDA context, bound to stream (a
// CUstream, as an unsafe.Pointer; nil is the legacy default stream). Load must
// have succeeded.
func NewHandle(stream unsafe.Pointer, m Math) (*Handle, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	h := &Handle{
		math:    m,
		tensors: map[Shape4]C.dr_cudnnTensorDesc{},
		filters: map[Shape4]C.dr_cudnnFilterDesc{},
		bnParam: map[Shape4]C.dr_cudnnTensorDesc{},
		convs:   map[convKey]*convPlan{},
	}
	if err := check("cudnnCreate", C.dr_cudnnCreate(&h.h)); err != nil {
		return nil, err
	}
	err := check("cudnnSetStream", C.dr_cudnnSetStream(h.h, stream))
	if err == nil {
		err = check("cudnnCreateActivationDescriptor(relu)", C.dr_newActivation(&h.relu, C.DR_CUDNN_ACTIVATION_RELU))
	}
	if err == nil {
		err = check("cudnnCreateActivationDescriptor(sigmoid)", C.dr_newActivation(&h.sigmoid, C.DR_CUDNN_ACTIVATION_SIGMOID))
	}
	if err != nil {
		return nil, errors.Join(err, h.Close())
	}
	return h, nil
}

// Close destroys the descriptors and the handle. It is idempotent.
func (h *Handle) Close() error {
	if h.h == nil {
		return nil
	}
	var errs []error
	for _, p := range h.convs {
		errs = append(errs, check("cudnnDestroyConvolutionDescriptor", C.dr_destroyConv(p.desc)))
	}
	for _, d := range h.tensors {
		errs = append(errs, check("cudnnDestroyTensorDescriptor", C.dr_destroyTensor(d)))
	}
	for _, d := range h.bnParam {
		errs = append(errs, check("cudnnDestroyTensorDescriptor", C.dr_destroyTensor(d)))
	}
	for _, d := range h.filters {
		errs = append(errs, check("cudnnDestroyFilterDescriptor", C.dr_destroyFilter(d)))
	}
	for _, d := range []C.dr_cudnnActivationDesc{h.relu, h.sigmoid} {
		if d != nil {
			errs = append(errs, check("cudnnDestroyActivationDescriptor", C.dr_destroyActivation(d)))
		}
	}
	errs = append(errs, check("cudnnDestroy", C.dr_cudnnDestroy(h.h)))
	h.h, h.relu, h.sigmoid = nil, nil, nil
	clear(h.convs)
	clear(h.tensors)
	clear(h.filters)
	clear(h.bnParam)
	return errors.Join(errs...)
}

// tensor returns the cached descriptor of s, in its layout.
func (h *Handle) tensor(s Shape4) (C.dr_cudnnTensorDesc, error) {
	if d, ok := h.tensors[s]; ok {
		return d, nil
	}
	var d C.dr_cudnnTensorDesc
	err := check(fmt.Sprintf("cudnnSetTensor4dDescriptor%v", s),
		C.dr_newTensor4d(&d, s.Layout.cudnn(), s.Type.cudnn(), C.int(s.N), C.int(s.C), C.int(s.H), C.int(s.W)))
	if err != nil {
		return nil, err
	}
	h.tensors[s] = d
	return d, nil
}

// filter returns the cached (K,C,kh,kw) filter descriptor of s: KCRS for
// NCHW, KRSC for NHWC ("the filter layout is in the form of KRSC",
// cudnnSetFilter4dDescriptor in the cuDNN API reference).
func (h *Handle) filter(s Shape4) (C.dr_cudnnFilterDesc, error) {
	if d, ok := h.filters[s]; ok {
		return d, nil
	}
	var d C.dr_cudnnFilterDesc
	err := check(fmt.Sprintf("cudnnSetFilter4dDescriptor%v", s),
		C.dr_newFilter4d(&d, s.Layout.cudnn(), s.Type.cudnn(), C.int(s.N), C.int(s.C), C.int(s.H), C.int(s.W)))
	if err != nil {
		return nil, err
	}
	h.filters[s] = d
	return d, nil
}
