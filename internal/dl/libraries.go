package dl

import (
	"fmt"
	"strings"
)

// Library describes one NVIDIA library: the sonames tried in order (newest
// first) and, for each, companions loaded from the same folder beforehand so
// that the library's own dependencies resolve even when that folder is not on
// the dynamic linker's path (Python wheels).
type Library struct {
	Name     string    // what it is, for messages: "cuDNN 9"
	Variants []Variant // tried in order in each place
	Hint     string    // how to get it, for the not-found message
}

// Variant is one soname of a library and the companions it needs.
type Variant struct {
	Soname string
	// Before are file names (or glob patterns) in the same folder loaded
	// first with RTLD_GLOBAL, best effort: libcublas.so.N needs libcublasLt.so.N,
	// libnvrtc needs libnvrtc-builtins, libcudnn.so.9 dlopens its sub-libraries.
	Before []string
}

const wheelHint = "install NVIDIA's Python wheels (pip install nvidia-cudnn-cu12 nvidia-cublas-cu12 nvidia-cuda-nvrtc-cu12, " +
	"or the cu13 ones), the Debian/NVIDIA packages (libcudnn9-cuda-12, libcublas-12-x, cuda-nvrtc-12-x), " +
	"or use the deepres Docker image; or point DEEPRES_CUDA_LIB_DIR at the folder that holds it"

// The libraries the gpu and cudnn packages load.
var (
	CUDA = Library{
		Name:     "NVIDIA CUDA driver",
		Variants: []Variant{{Soname: "libcuda.so.1"}},
		Hint: "libcuda.so.1 comes with the NVIDIA driver, not with the CUDA toolkit: install the driver " +
			"(nvidia-smi must work); inside a container, run it with the NVIDIA container runtime (--gpus all)",
	}
	CUDNN = Library{
		Name: "cuDNN 9",
		// cuDNN 9 is split into sub-libraries that it dlopens by soname, and
		// newer 9.x releases ship more than 9.0's seven (for example
		// libcudnn_engines_tensor_ir, libcudnn_ext), so they are preloaded by
		// glob, libcudnn_graph (which the others link against) first; the
		// rest retry until their dependencies are in (loadInPasses).
		Variants: []Variant{{Soname: "libcudnn.so.9", Before: []string{"libcudnn_graph.so.9", "libcudnn_*.so.9"}}},
		Hint:     wheelHint,
	}
	CUBLAS = Library{
		Name: "cuBLAS",
		Variants: []Variant{
			{Soname: "libcublas.so.13", Before: []string{"libcublasLt.so.13"}},
			{Soname: "libcublas.so.12", Before: []string{"libcublasLt.so.12"}},
		},
		Hint: wheelHint,
	}
	NVRTC = Library{
		Name: "NVRTC",
		Variants: []Variant{
			{Soname: "libnvrtc.so.13", Before: []string{"libnvrtc-builtins.so.13*"}},
			{Soname: "libnvrtc.so.12", Before: []string{"libnvrtc-builtins.so.12*"}},
		},
		Hint: wheelHint,
	}
)

// Major returns l restricted to the variants of CUDA major version major,
// and whether it has any. cuBLAS and NVRTC exist per CUDA major
// (libcublas.so.12, .so.13), and a cuDNN built for CUDA 12 loads
// libcublasLt.so.12 itself: a .so.13 found first (a cu13 wheel folder sorts
// before nvidia/cublas) would leave cuDNN without its own. So the gpu package
// opens Major(cudnnGetCudartVersion() / 1000) first, in every place, and only
// then l itself.
func (l Library) Major(major int) (Library, bool) {
	suffix := fmt.Sprintf(".so.%d", major)
	var vs []Variant
	for _, v := range l.Variants {
		if major > 0 && strings.HasSuffix(v.Soname, suffix) {
			vs = append(vs, v)
		}
	}
	l.Variants = vs
	return l, len(vs) > 0
}
