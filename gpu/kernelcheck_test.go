package gpu

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepres/deepres/internal/gputest"
)

// TestKernelsCompileWithNVIDIANVRTC compiles deepres's kernels and the
// conditional-node setter with NVIDIA's real NVRTC (the stack in
// $DEEPRES_NVIDIA_STACK) to CUBINs for every architecture that NVRTC lists
// from sm_70 up, through the code Open uses, and fails on a compile error, a
// missing kernel or any spill. With $DEEPRES_KERNEL_REPORT it writes ptxas's
// figures there (tab-separated: arch, program, function, registers, shared
// bytes, stack bytes, spill store and load bytes). Run it alone (go test
// -run): the library search is fixed at the first load of the process.
func TestKernelsCompileWithNVIDIANVRTC(t *testing.T) {
	stack := gputest.NVIDIAStack(t)
	path, major, minor, archs, err := NVRTCInfo()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(path, stack+string(filepath.Separator)) {
		t.Fatalf("loaded NVRTC %s, not the one in %s (run this test in a process of its own)", path, stack)
	}
	var report strings.Builder
	n := 0
	for _, a := range archs {
		if a < 70 {
			continue
		}
		arch := fmt.Sprintf("sm_%d", a)
		us, err := CheckKernels(arch)
		if err != nil {
			t.Errorf("NVRTC %d.%d, %s: %v", major, minor, arch, err)
			continue
		}
		n++
		var got []string
		for _, u := range us {
			got = append(got, u.Function)
			if u.SpillStores != 0 || u.SpillLoads != 0 {
				t.Errorf("NVRTC %d.%d, %s: %s spills (%d bytes stores, %d bytes loads, %d registers)",
					major, minor, arch, u.Function, u.SpillStores, u.SpillLoads, u.Registers)
			}
			fmt.Fprintf(&report, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", arch, u.Program, u.Function,
				u.Registers, u.SharedBytes, u.StackBytes, u.SpillStores, u.SpillLoads)
		}
		for _, k := range append(slices.Clone(kernelNames), "dr_set_branches") {
			if !slices.Contains(got, k) {
				t.Errorf("NVRTC %d.%d, %s: no %s in ptxas's report", major, minor, arch, k)
			}
		}
	}
	if n == 0 {
		t.Fatalf("NVRTC %d.%d lists no architecture from sm_70 up: %v", major, minor, archs)
	}
	t.Logf("NVRTC %d.%d (%s): %d architectures from sm_70 up, kernels and setter compiled to CUBINs", major, minor, path, n)
	if out := os.Getenv("DEEPRES_KERNEL_REPORT"); out != "" {
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// parsePtxasLog reads both formats of ptxas -v seen in NVIDIA's NVRTC, and
// refuses a report it cannot read rather than finding no spills in it.
func TestParsePtxasLog(t *testing.T) {
	nvrtc123 := "ptxas info    : 0 bytes gmem\n" +
		"ptxas info    : Compiling entry function 'dr_set_branches' for 'sm_80'\n" +
		"ptxas info    : Function properties for dr_set_branches\n" +
		"    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n" +
		"ptxas info    : Used 24 registers, 376 bytes cmem[0]\n"
	nvrtc128 := "ptxas info    : Compiling entry function 'dr_reduce' for 'sm_90'\n" +
		"ptxas info    : Function properties for dr_reduce\n" +
		"ptxas         .     8 bytes stack frame, 12 bytes spill stores, 16 bytes spill loads\n" +
		"ptxas info    : Used 31 registers, used 1 barriers, 2048 bytes smem, 400 bytes cmem[0]\n"
	us, err := parsePtxasLog(nvrtc123 + nvrtc128)
	if err != nil {
		t.Fatal(err)
	}
	want := []KernelUsage{
		{Function: "dr_set_branches", Registers: 24},
		{Function: "dr_reduce", Registers: 31, SharedBytes: 2048, StackBytes: 8, SpillStores: 12, SpillLoads: 16},
	}
	if !slices.Equal(us, want) {
		t.Errorf("got %+v, want %+v", us, want)
	}
	noFrame := "ptxas info    : Function properties for dr_mul\nptxas info    : Used 14 registers\n"
	if _, err := parsePtxasLog(noFrame); err == nil || !strings.Contains(err.Error(), "no stack frame and spill line for dr_mul") {
		t.Errorf("a report without the spill line: err = %v", err)
	}
	if _, err := parsePtxasLog("nvrtc: no output\n"); err == nil {
		t.Error("a report with no function: no error")
	}
}
