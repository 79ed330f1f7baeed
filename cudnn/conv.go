package cudnn

/*
#include "cudnn_calls.h"
*/
import "C"

import "fmt"

// Conv is a 2-D cross-correlation's geometry (dilation 1, one group).
type Conv struct {
	PadH, PadW       int
	StrideH, StrideW int
}

// Workspace is device scratch memory the caller owns and lends to an op.
type Workspace struct {
	Ptr  Ptr
	Size int // bytes
}

type convKey struct {
	x, w Shape4
	conv Conv
}

// convPlan is what one shape needs: its descriptor and, per direction, the
// algorithm found by cudnnFind*AlgorithmEx the first time it ran.
type convPlan struct {
	desc                  C.dr_cudnnConvDesc
	xd, yd                C.dr_cudnnTensorDesc
	wd                    C.dr_cudnnFilterDesc
	math                  C.dr_cudnnMathType // what Find times under (mathFor)
	admit                 admit              // what choose lets through
	fwd, bwdData, bwdFilt algo
}

type algo struct {
	found  bool
	id     C.uint
	memory int
	math   C.dr_cudnnMathType // the math type Find timed it with
}

// maxAlgos bounds the Find results requested: cuDNN 9 has 8 forward, 6
// backward-data and 7 backward-filter algorithms.
const maxAlgos = 16

// mathFor is the math type Find times the algorithms of type-t data under.
// Float data follows the handle's mode (FMA only in strict FP32). Half and
// bfloat16 data ask for CUDNN_TENSOR_OP_MATH ("Tensor Core math", cuDNN 9's
// cudnn_graph.h, cudnnMathType_t): tensor cores are why one computes in
// half at all (NVIDIA's mixed-precision training guide), and their products
// of half inputs are exact in the float accumulator, so strict FP32's reason
// for FMA does not apply (PyTorch's cuDNN ConvolutionDescriptor sets
// CUDNN_TENSOR_OP_MATH for half data likewise).
func (h *Handle) mathFor(t DataType) C.dr_cudnnMathType {
	if t == Float {
		return h.math.cudnn()
	}
	return C.DR_CUDNN_TENSOR_OP_MATH
}

func (h *Handle) plan(x, w, y Shape4, c Conv) (*convPlan, error) {
	k := convKey{x, w, c}
	if p, ok := h.convs[k]; ok {
		return p, nil
	}
	// cuDNN's supported configurations of cudnnConvolutionForward (and of
	// the two backward calls) have x, w and y of one type: FLOAT_CONFIG,
	// PSEUDO_HALF_CONFIG, PSEUDO_BFLOAT16_CONFIG (cuDNN API reference,
	// cudnn_cnn library, cudnnConvolutionForward, "Supported
	// configurations", docs.nvidia.com/deeplearning/cudnn/backend/latest/
	// api/cudnn-cnn-library.html); a mix is a caller's mistake.
	if x.Type != w.Type || x.Type != y.Type {
		panic(fmt.Sprintf("cudnn: convolution of %v x, %v w and %v y: cuDNN takes one data type for all three", x.Type, w.Type, y.Type))
	}
	// One layout for x, w and y too (a KRSC filter with NHWC tensors):
	// NVIDIA's NHWC configurations (Deep Learning Performance guide,
	// "Tensor Layouts In Memory: NCHW vs NHWC") have all three
	// channels-last, and the plan cache keys on x and w alone, so y's
	// layout must follow them. The gpu package converts a mix first.
	if x.Layout != w.Layout || x.Layout != y.Layout {
		panic(fmt.Sprintf("cudnn: convolution of %v x, %v w and %v y: give cuDNN one layout for all three", x.Layout, w.Layout, y.Layout))
	}
	p := &convPlan{math: h.mathFor(x.Type), admit: admitted(h.math, x.Type)}
	var err error
	if p.xd, err = h.tensor(x); err != nil {
		return nil, err
	}
	if p.yd, err = h.tensor(y); err != nil {
		return nil, err
	}
	if p.wd, err = h.filter(w); err != nil {
		return nil, err
	}
	// The mode's math type is set before Find, so Find times only algorithms
	// the mode allows (FMA-only for FP32). Find reports, per algorithm, the
	// math type it ran with; use sets that one before each call, since the
	// descriptor otherwise keeps the mode's and cuDNN may pick a slower
	// kernel (PyTorch's Conv_v7.cpp, note "behavior of cudnnFind and cudnnGet").
	// The compute type is CUDNN_DATA_FLOAT for every data type (dr_newConv2d):
	// the PSEUDO_HALF and PSEUDO_BFLOAT16 configurations, which accumulate in
	// float; TRUE_HALF_CONFIG (half compute) would round every partial sum.
	err = check("cudnnSetConvolution2dDescriptor", C.dr_newConv2d(&p.desc, C.int(c.PadH), C.int(c.PadW),
		C.int(c.StrideH), C.int(c.StrideW), p.math))
	if err != nil {
		return nil, err
	}
	h.convs[k] = p
	return p, nil
}

// pick returns the fastest successful result that fits the workspace (Find
// sorts its results by time) among those the mode admits (choose).
func (p *convPlan) pick(call string, d direction, n int, status func(i int) (C.dr_cudnnStatus, C.uint, C.size_t, C.dr_cudnnMathType), ws Workspace) (algo, error) {
	rs := make([]findResult, n)
	for i := range n {
		s, id, mem, math := status(i)
		rs[i] = findResult{ok: s == C.DR_CUDNN_STATUS_SUCCESS, algo: int(id), memory: int(mem), fma: math == C.DR_CUDNN_FMA_MATH}
	}
	i := choose(d, p.admit, rs, ws.Size)
	if i < 0 {
		return algo{}, fmt.Errorf("%s: no algorithm succeeded within a %d-byte workspace", call, ws.Size)
	}
	_, id, mem, math := status(i)
	return algo{found: true, id: id, memory: int(mem), math: math}, nil
}

// use sets the math type an algorithm was found with on the descriptor.
func (p *convPlan) use(a algo) error {
	return check("cudnnSetConvolutionMathType", C.dr_setConvMath(p.desc, a.math))
}

// ConvForward: y (N,K,Ho,Wo) = conv(x (N,C,H,W), w (K,C,kh,kw)); y is written.
// The first call for a shape times the algorithms with
// cudnnFindConvolutionForwardAlgorithmEx on these very buffers (writing y)
// and caches the fastest that fits ws.
func (h *Handle) ConvForward(y Ptr, ys Shape4, x Ptr, xs Shape4, w Ptr, ws Shape4, c Conv, work Workspace) error {
	p, err := h.plan(xs, ws, ys, c)
	if err != nil {
		return err
	}
	if !p.fwd.found {
		var perf [maxAlgos]C.dr_cudnnConvFwdPerf
		var n C.int
		const call = "cudnnFindConvolutionForwardAlgorithmEx"
		// Find times algorithms under the plan's math type, not the one an
		// earlier direction's algorithm left on the shared descriptor.
		if err := p.use(algo{math: p.math}); err != nil {
			return err
		}
		if err := check(call, C.dr_findFwd(h.h, p.xd, C.dr_dptr(x), p.wd, C.dr_dptr(w), p.desc, p.yd, C.dr_dptr(y),
			maxAlgos, &n, &perf[0], C.dr_dptr(work.Ptr), C.size_t(work.Size))); err != nil {
			return err
		}
		if p.fwd, err = p.pick(call, forward, int(n), func(i int) (C.dr_cudnnStatus, C.uint, C.size_t, C.dr_cudnnMathType) {
			return perf[i].status, C.uint(perf[i].algo), perf[i].memory, perf[i].mathType
		}, work); err != nil {
			return err
		}
	}
	if p.fwd.memory > work.Size {
		return fmt.Errorf("cudnnConvolutionForward: workspace %d bytes, algorithm needs %d", work.Size, p.fwd.memory)
	}
	if err := p.use(p.fwd); err != nil {
		return err
	}
	return check("cudnnConvolutionForward", C.dr_convFwd(h.h, 1, p.xd, C.dr_dptr(x), p.wd, C.dr_dptr(w), p.desc,
		C.dr_cudnnConvFwdAlgo(p.fwd.id), C.dr_dptr(work.Ptr), C.size_t(work.Size), 0, p.yd, C.dr_dptr(y)))
}

// ConvBackwardData: dx (N,C,H,W) = (add ? dx : 0) + the gradient of conv with
// respect to x, from dy (N,K,Ho,Wo) and w. The first call for a shape runs
// cudnnFindConvolutionBackwardDataAlgorithmEx, which writes its output: it
// writes into scratch (dx's size) when scratch != 0, which callers must
// provide when add is true so that dx's contents survive.
func (h *Handle) ConvBackwardData(dx Ptr, xs Shape4, dy Ptr, ys Shape4, w Ptr, ws Shape4, c Conv, add bool, work Workspace, scratch Ptr) error {
	p, err := h.plan(xs, ws, ys, c)
	if err != nil {
		return err
	}
	if !p.bwdData.found {
		out := dx
		if scratch != 0 {
			out = scratch
		} else if add {
			panic("cudnn: ConvBackwardData with add needs a scratch buffer for its first call")
		}
		var perf [maxAlgos]C.dr_cudnnConvBwdDataPerf
		var n C.int
		const call = "cudnnFindConvolutionBackwardDataAlgorithmEx"
		// Find times algorithms under the plan's math type, not the one an
		// earlier direction's algorithm left on the shared descriptor.
		if err := p.use(algo{math: p.math}); err != nil {
			return err
		}
		if err := check(call, C.dr_findBwdData(h.h, p.wd, C.dr_dptr(w), p.yd, C.dr_dptr(dy), p.desc, p.xd, C.dr_dptr(out),
			maxAlgos, &n, &perf[0], C.dr_dptr(work.Ptr), C.size_t(work.Size))); err != nil {
			return err
		}
		if p.bwdData, err = p.pick(call, backwardData, int(n), func(i int) (C.dr_cudnnStatus, C.uint, C.size_t, C.dr_cudnnMathType) {
			return perf[i].status, C.uint(perf[i].algo), perf[i].memory, perf[i].mathType
		}, work); err != nil {
			return err
		}
	}
	if p.bwdData.memory > work.Size {
		return fmt.Errorf("cudnnConvolutionBackwardData: workspace %d bytes, algorithm needs %d", work.Size, p.bwdData.memory)
	}
	if err := p.use(p.bwdData); err != nil {
		return err
	}
	return check("cudnnConvolutionBackwardData", C.dr_convBwdData(h.h, 1, p.wd, C.dr_dptr(w), p.yd, C.dr_dptr(dy), p.desc,
		C.dr_cudnnConvBwdDataAlgo(p.bwdData.id), C.dr_dptr(work.Ptr), C.size_t(work.Size), beta(add), p.xd, C.dr_dptr(dx)))
}

// NeedsScratch reports whether the next ConvBackwardData for this geometry
// will run Find (and so needs scratch when add is true).
func (h *Handle) NeedsScratch(xs, ws, ys Shape4, c Conv) bool {
	p, ok := h.convs[convKey{xs, ws, c}]
	return !ok || !p.bwdData.found
}

// ConvBackwardFilter: dw (K,C,kh,kw) = the gradient of conv with respect to
// w, from dy and x; written (Find on the first call also writes only dw).
func (h *Handle) ConvBackwardFilter(dw Ptr, ws Shape4, dy Ptr, ys Shape4, x Ptr, xs Shape4, c Conv, work Workspace) error {
	p, err := h.plan(xs, ws, ys, c)
	if err != nil {
		return err
	}
	if !p.bwdFilt.found {
		var perf [maxAlgos]C.dr_cudnnConvBwdFilterPerf
		var n C.int
		const call = "cudnnFindConvolutionBackwardFilterAlgorithmEx"
		// Find times algorithms under the plan's math type, not the one an
		// earlier direction's algorithm left on the shared descriptor.
		if err := p.use(algo{math: p.math}); err != nil {
			return err
		}
		if err := check(call, C.dr_findBwdFilter(h.h, p.xd, C.dr_dptr(x), p.yd, C.dr_dptr(dy), p.desc, p.wd, C.dr_dptr(dw),
			maxAlgos, &n, &perf[0], C.dr_dptr(work.Ptr), C.size_t(work.Size))); err != nil {
			return err
		}
		if p.bwdFilt, err = p.pick(call, backwardFilter, int(n), func(i int) (C.dr_cudnnStatus, C.uint, C.size_t, C.dr_cudnnMathType) {
			return perf[i].status, C.uint(perf[i].algo), perf[i].memory, perf[i].mathType
		}, work); err != nil {
			return err
		}
	}
	if p.bwdFilt.memory > work.Size {
		return fmt.Errorf("cudnnConvolutionBackwardFilter: workspace %d bytes, algorithm needs %d", work.Size, p.bwdFilt.memory)
	}
	if err := p.use(p.bwdFilt); err != nil {
		return err
	}
	return check("cudnnConvolutionBackwardFilter", C.dr_convBwdFilter(h.h, 1, p.xd, C.dr_dptr(x), p.yd, C.dr_dptr(dy), p.desc,
		C.dr_cudnnConvBwdFilterAlgo(p.bwdFilt.id), C.dr_dptr(work.Ptr), C.size_t(work.Size), 0, p.wd, C.dr_dptr(dw)))
}

// Choice is the algorithm Find chose for one pass of one convolution geometry.
type Choice struct {
	Pass      string   // "forward", "backward data" or "backward filter"
	Algo      int      // the cudnnConvolution*Algo_t value
	Workspace int      // bytes it needs
	FMA       bool     // chosen with CUDNN_FMA_MATH
	Type      DataType // of x, w and y
}

// Choices lists the algorithms chosen so far, in no particular order.
func (h *Handle) Choices() []Choice {
	var cs []Choice
	for k, p := range h.convs {
		for _, a := range []struct {
			pass string
			a    algo
		}{{"forward", p.fwd}, {"backward data", p.bwdData}, {"backward filter", p.bwdFilt}} {
			if a.a.found {
				cs = append(cs, Choice{Pass: a.pass, Algo: int(a.a.id), Workspace: a.a.memory, FMA: a.a.math == C.DR_CUDNN_FMA_MATH, Type: k.x.Type})
			}
		}
	}
	return cs
}

// FP32Admits reports whether strict FP32 mode admits c (the rule choose
// applies: FMA math for float data, no transform algorithm for any).
func (c Choice) FP32Admits() bool {
	d := map[string]direction{"forward": forward, "backward data": backwardData, "backward filter": backwardFilter}[c.Pass]
	a := admitted(FP32, c.Type)
	return (c.FMA || !a.fma) && fp32Algorithm(d, c.Algo)
}
