package gpu

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSetterNeedsNVRTC123: an NVRTC before 12.3 cannot compile the
// conditional-node setter to a CUBIN (its ptxas leaves cudaGraphSetConditional
// unresolved; measured with NVIDIA's NVRTC 12.2.140). The simulator plays
// NVRTC 12.2 (CUDASIM_NVRTC_VERSION) in a child process: the simulated
// compile must fail as the real one does, and CanBranch must name the version
// before trying.
func TestSetterNeedsNVRTC123(t *testing.T) {
	if os.Getenv("DEEPRES_TEST_OLD_NVRTC") == "1" {
		b := openOrSkip(t, FP32)
		defer b.Close()
		target, err := kernelTargetFor(b.info)
		if err != nil {
			t.Fatal(err)
		}
		_, err = compileProgram("deepres_branches.cu", branchSource, target)
		if err == nil || !strings.Contains(err.Error(), "Unresolved extern function 'cudaGraphSetConditional'") {
			t.Errorf("compiling the setter with NVRTC 12.2: %v, want ptxas's unresolved cudaGraphSetConditional", err)
		}
		err = b.CanBranch()
		if err == nil || !strings.Contains(err.Error(), "NVRTC 12.2 cannot compile the conditional-node setter") {
			t.Errorf("CanBranch with NVRTC 12.2: %v, want the version named", err)
		}
		return
	}
	skipUnlessSimulator(t, "an older NVRTC")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSetterNeedsNVRTC123$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "DEEPRES_TEST_OLD_NVRTC=1", "CUDASIM_NVRTC_VERSION=12.2")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestSetterNeedsNVRTC123") {
		t.Fatalf("with NVRTC 12.2: %v\n%s", err, out)
	}
}
