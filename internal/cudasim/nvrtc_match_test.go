package cudasim

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// NVIDIA's real NVRTC runs without a GPU, so it is the truth the simulated
// one must agree with (issue 21, Build 5). TestSimulatorNVRTCMatchesReal
// runs testdata/nvrtcmatch.c against the real libnvrtc of the stack in
// DEEPRES_NVIDIA_STACK (a folder laid out as scripts/nvidia/fetch.sh STACK DIR
// writes it: pip --target, nvidia/<pkg>/lib) and against the simulator
// claiming the same release (CUDASIM_NVRTC_VERSION), and requires every
// observation to be the same. Without the variable it skips, or fails
// under DEEPRES_REQUIRE_NVIDIA=1, as CI sets it.
func TestSimulatorNVRTCMatchesReal(t *testing.T) {
	needBuild(t)
	real := realNVRTC(t)
	exe := filepath.Join(t.TempDir(), "nvrtcmatch")
	if out, err := exec.Command("gcc", "-O1", "-Wall", "-o", exe, "testdata/nvrtcmatch.c", "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("compiling nvrtcmatch: %v\n%s", err, out)
	}
	want := observe(t, exe, real)
	version := strings.TrimPrefix(want[0], "version: status=0 ")
	if version == want[0] {
		t.Fatalf("%s: no version line: %q", real, want[0])
	}
	got := observe(t, exe, filepath.Join(simDir, "libnvrtc.so.13"), "CUDASIM_NVRTC_VERSION="+version)
	t.Logf("%s (NVRTC %s): %d observations", real, version, len(want))
	for i := range max(len(want), len(got)) {
		w, g := line(want, i), line(got, i)
		if w != g {
			t.Errorf("NVRTC %s disagrees (the real library wins):\n  real: %s\n  sim:  %s", version, w, g)
		}
	}
}

// realNVRTC is the libnvrtc.so.N of the stack in DEEPRES_NVIDIA_STACK.
func realNVRTC(t *testing.T) string {
	t.Helper()
	stack := os.Getenv("DEEPRES_NVIDIA_STACK")
	if stack == "" {
		why := "DEEPRES_NVIDIA_STACK is not set (a folder from scripts/nvidia/fetch.sh STACK DIR): no real NVRTC to compare with"
		if os.Getenv("DEEPRES_REQUIRE_NVIDIA") == "1" {
			t.Fatal("DEEPRES_REQUIRE_NVIDIA=1, but " + why)
		}
		t.Skip(why)
	}
	// nvidia/cuda_nvrtc/lib/libnvrtc.so.12 (CUDA 12), nvidia/cu13/lib/libnvrtc.so.13 (CUDA 13).
	libs, _ := filepath.Glob(filepath.Join(stack, "nvidia", "*", "lib", "libnvrtc.so.*"))
	if len(libs) != 1 {
		t.Fatalf("DEEPRES_NVIDIA_STACK=%s: want one nvidia/*/lib/libnvrtc.so.*, found %v", stack, libs)
	}
	return libs[0]
}

// observe runs nvrtcmatch against lib and returns its lines.
func observe(t *testing.T, exe, lib string, env ...string) []string {
	t.Helper()
	cmd := exec.Command(exe, lib)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nvrtcmatch %s: %v\n%s%s", lib, err, out, stderr.String())
	}
	var lines []string
	for s := bufio.NewScanner(strings.NewReader(string(out))); s.Scan(); {
		lines = append(lines, s.Text())
	}
	if len(lines) == 0 {
		t.Fatalf("nvrtcmatch %s printed nothing", lib)
	}
	return lines
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return fmt.Sprintf("(no line %d)", i+1)
}
