package gpu

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/deepres/deepres/ops/opstest"
)

// A device newer than the loaded NVRTC (issue 21, finding 1): NVRTC 12.6
// lists nothing past sm_90, a Blackwell card is compute capability 10.0.
// The simulator plays both (CUDASIM_NVRTC_VERSION, CUDASIM_CC, read when
// it loads), so the test runs itself again in a child process with them.
// With NVRTC 12.6 the child opens the device and passes the conformance
// cases of two custom kernels, which came through PTX for compute_90; with
// NVRTC 13.5 beside the simulated driver's CUDA 13.0, the PTX is too new
// for the driver to JIT-compile and Open says so.
func TestDeviceNewerThanNVRTC(t *testing.T) {
	switch os.Getenv("DEEPRES_TEST_NEWER_DEVICE") {
	case "open":
		b := openOrSkip(t, FP32)
		defer b.Close()
		if k := b.Info().Kernels; !strings.Contains(k, "compute_90 PTX") {
			t.Errorf("Info().Kernels = %q, want the PTX fallback to compute_90 named", k)
		}
		opstest.Run(t, b, opstest.Options{Short: true})
		return
	case "refuse":
		b, err := Open(0, Options{})
		if err == nil {
			b.Close()
			t.Fatal("Open succeeded with PTX newer than the driver")
		}
		for _, want := range []string{"CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "NVRTC 13.5", "driver (CUDA 13.0)", "compute_121"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Open's error lacks %q: %v", want, err)
			}
		}
		return
	}
	skipUnlessSimulator(t, "an older NVRTC and a newer device")
	for _, tc := range []struct {
		mode, nvrtc, cc string
		want            []string
	}{
		{"open", "12.6", "10.0", []string{"--- PASS: TestDeviceNewerThanNVRTC/AddTensor", "--- PASS: TestDeviceNewerThanNVRTC/SGDUpdate"}},
		{"refuse", "13.5", "12.2", []string{"--- PASS: TestDeviceNewerThanNVRTC"}},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDeviceNewerThanNVRTC$/^(AddTensor|SGDUpdate)$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "DEEPRES_TEST_NEWER_DEVICE="+tc.mode, "CUDASIM_NVRTC_VERSION="+tc.nvrtc, "CUDASIM_CC="+tc.cc)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("compute capability %s with NVRTC %s: %v\n%s", tc.cc, tc.nvrtc, err, out)
		}
		for _, want := range tc.want {
			if !strings.Contains(string(out), want) {
				t.Errorf("compute capability %s with NVRTC %s: the child did not say %q:\n%s", tc.cc, tc.nvrtc, want, out)
			}
		}
	}
}
