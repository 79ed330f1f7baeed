package gpu

import (
	"slices"
	"testing"

	"github.com/deepres/deepres/internal/dl"
)

// cuBLAS and NVRTC follow the CUDA major that cuDNN was built for
// (cudnnGetCudartVersion): NVRTC that major first, then any; cuBLAS that
// major alone (cuDNN loads that major's libcublasLt itself).
func TestLibrariesFollowCUDNNsCUDA(t *testing.T) {
	sonames := func(ls []dl.Library) [][]string {
		var out [][]string
		for _, l := range ls {
			var s []string
			for _, v := range l.Variants {
				s = append(s, v.Soname)
			}
			out = append(out, s)
		}
		return out
	}
	all := []string{"libcublas.so.13", "libcublas.so.12"}
	tests := []struct {
		cudart int
		want   [][]string
	}{
		{12080, [][]string{{"libcublas.so.12"}}},
		{12000, [][]string{{"libcublas.so.12"}}},
		{13000, [][]string{{"libcublas.so.13"}}},
		{13020, [][]string{{"libcublas.so.13"}}},
		{0, [][]string{all}},     // no cuDNN: newest first, as before
		{11080, [][]string{all}}, // a major deepres has no soname for
	}
	for _, tc := range tests {
		got := sonames(libraryOrder(dl.CUBLAS, tc.cudart))
		if !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("cudart %d: cuBLAS tried as %q, want %q", tc.cudart, got, tc.want)
		}
	}
	if got := sonames(libraryOrder(dl.NVRTC, 12080)); len(got) != 2 || got[0][0] != "libnvrtc.so.12" {
		t.Errorf("cudart 12080: NVRTC tried as %q", got)
	}
}
