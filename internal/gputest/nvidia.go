package gputest

import (
	"os"
	"path/filepath"
	"testing"
)

// StackEnv names a folder holding one of NVIDIA's software stacks as
// scripts/nvidia/fetch.sh installs it (a pip --target layout:
// STACK/nvidia/<pkg>/lib). The tests that run NVIDIA's real libraries
// without a GPU (NVRTC, cuDNN's and cuBLAS's host calls) use it.
const StackEnv = "DEEPRES_NVIDIA_STACK"

// RequireStackEnv makes a missing or empty stack a failure, not a skip
// (scripts/nvidia/check.sh sets it).
const RequireStackEnv = "DEEPRES_REQUIRE_NVIDIA"

// NVIDIAStack returns $DEEPRES_NVIDIA_STACK and points the library search
// at it alone: the stack becomes the only wheel folder ($PYTHONPATH) and
// $DEEPRES_CUDA_LIB_DIR is cleared. Libraries load once per process, so a
// test using it must run in a process of its own (go test -run). Without
// the variable, or without STACK/nvidia, t is skipped (failed with
// DEEPRES_REQUIRE_NVIDIA=1).
func NVIDIAStack(t testing.TB) string {
	t.Helper()
	stack := os.Getenv(StackEnv)
	reason := ""
	if stack == "" {
		reason = StackEnv + " is not set (scripts/nvidia/fetch.sh cu12|cu13 installs a stack)"
	} else if fi, err := os.Stat(filepath.Join(stack, "nvidia")); err != nil || !fi.IsDir() {
		reason = StackEnv + "=" + stack + " has no nvidia/ folder (scripts/nvidia/fetch.sh installs one)"
	}
	if reason != "" {
		if os.Getenv(RequireStackEnv) == "1" {
			t.Fatalf("%s=1, but %s", RequireStackEnv, reason)
		}
		t.Skip(reason)
	}
	stack = filepath.Clean(stack)
	t.Setenv("PYTHONPATH", stack)
	t.Setenv("DEEPRES_CUDA_LIB_DIR", "")
	return stack
}
