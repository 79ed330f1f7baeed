package gpu

import (
	"strings"
	"testing"
)

// The lists are what NVIDIA's real NVRTC 12.8.93 and 13.5.37 return from
// nvrtcGetSupportedArchs (internal/cudasim/nvrtc/version.c), and 12.6's.
var (
	archs126 = []int{50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90}
	archs128 = []int{50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90, 100, 101, 120}
	archs135 = []int{75, 80, 86, 87, 88, 89, 90, 100, 103, 107, 110, 120, 121}
)

func TestChooseTarget(t *testing.T) {
	for _, tc := range []struct {
		name         string
		major, minor int
		nvrtc        string
		archs        []int
		want         kernelTarget
		note, err    string // substrings of Note and of the error
	}{
		{name: "H100, NVRTC 12.8", major: 9, minor: 0, nvrtc: "12.8", archs: archs128, want: kernelTarget{Arch: "sm_90"}},
		{name: "B200, NVRTC 12.8", major: 10, minor: 0, nvrtc: "12.8", archs: archs128, want: kernelTarget{Arch: "sm_100"}},
		{name: "B200, NVRTC 12.6", major: 10, minor: 0, nvrtc: "12.6", archs: archs126,
			want: kernelTarget{Arch: "compute_90", PTX: true}, note: "NVRTC 12.6 does not know sm_100"},
		{name: "RTX 5090, NVRTC 12.6", major: 12, minor: 0, nvrtc: "12.6", archs: archs126,
			want: kernelTarget{Arch: "compute_90", PTX: true}, note: "compute_90"},
		// Not the newest listed (sm_120 > 10.3) but the newest at most the device's.
		{name: "GB300, NVRTC 12.8", major: 10, minor: 3, nvrtc: "12.8", archs: archs128,
			want: kernelTarget{Arch: "compute_101", PTX: true}, note: "sm_103"},
		{name: "a device after NVRTC 13.5", major: 13, minor: 0, nvrtc: "13.5", archs: archs135,
			want: kernelTarget{Arch: "compute_121", PTX: true}, note: "NVRTC 13.5"},
		{name: "an unsorted list", major: 10, minor: 0, nvrtc: "12.6", archs: []int{90, 50, 80},
			want: kernelTarget{Arch: "compute_90", PTX: true}},
		{name: "NVRTC before 11.2 cannot list", major: 8, minor: 6, nvrtc: "11.1", archs: nil, want: kernelTarget{Arch: "sm_86"}},
		{name: "P100, NVRTC 13.5", major: 6, minor: 0, nvrtc: "13.5", archs: archs135, err: "NVRTC 13.5 cannot compile for sm_60: it supports sm_75 to sm_121"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chooseTarget(tc.major, tc.minor, tc.nvrtc, tc.archs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Arch != tc.want.Arch || got.PTX != tc.want.PTX {
				t.Errorf("got %s (PTX %v), want %s (PTX %v)", got.Arch, got.PTX, tc.want.Arch, tc.want.PTX)
			}
			if (got.Note != "") != got.PTX || !strings.Contains(got.Note, tc.note) {
				t.Errorf("note %q: want one exactly for PTX, containing %q", got.Note, tc.note)
			}
		})
	}
}
