package gpu

import (
	"testing"

	"github.com/deepres/deepres/internal/dl"
)

// cuBLAS and NVRTC follow the CUDA major that cuDNN was built for
// (cudnnGetCudartVersion), not the newest one present.
func TestLibrariesFollowCUDNNsCUDA(t *testing.T) {
	tests := []struct {
		cudart    int
		blas, rtc string
	}{
		{12080, "libcublas.so.12", "libnvrtc.so.12"},
		{12000, "libcublas.so.12", "libnvrtc.so.12"},
		{13000, "libcublas.so.13", "libnvrtc.so.13"},
		{13020, "libcublas.so.13", "libnvrtc.so.13"},
		{0, "libcublas.so.13", "libnvrtc.so.13"}, // no cuDNN: newest first, as before
	}
	for _, tc := range tests {
		m := cudaMajor(tc.cudart)
		if got := dl.CUBLAS.PreferMajor(m).Variants[0].Soname; got != tc.blas {
			t.Errorf("cudart %d: cuBLAS tried first is %s, want %s", tc.cudart, got, tc.blas)
		}
		if got := dl.NVRTC.PreferMajor(m).Variants[0].Soname; got != tc.rtc {
			t.Errorf("cudart %d: NVRTC tried first is %s, want %s", tc.cudart, got, tc.rtc)
		}
	}
}
