package gputest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		v        string
		required bool
		bad      bool
	}{
		{"", false, false}, {"0", false, false}, {"1", true, false},
		{"yes", false, true}, {"true", false, true}, {" 1", false, true},
	} {
		got, err := parse(tc.v)
		if got != tc.required || (err != nil) != tc.bad {
			t.Errorf("parse(%q) = %v, %v; want %v, error %v", tc.v, got, err, tc.required, tc.bad)
		}
		if tc.bad && (err == nil || !strings.Contains(err.Error(), Env)) {
			t.Errorf("parse(%q): error %v does not name %s", tc.v, err, Env)
		}
	}
}

// The child: a test that skips for lack of a GPU, run by TestSkip below.
func TestChildSkipsForLackOfGPU(t *testing.T) {
	if os.Getenv("GPUTEST_CHILD") != "1" {
		t.Skip("runs as TestSkip's child only")
	}
	Skip(t, "no NVIDIA GPU: %s", "libcuda.so.1 not found")
}

// Run as a real test binary: without the variable the child skips with the
// reason; with DEEPRES_REQUIRE_GPU=1 it fails with the same reason; with a
// value that means nothing it fails saying so.
func TestSkip(t *testing.T) {
	for _, tc := range []struct {
		env      string
		fail     bool
		contains []string
	}{
		{"", false, []string{"--- SKIP", "no NVIDIA GPU: libcuda.so.1 not found"}},
		{"0", false, []string{"--- SKIP"}},
		{"1", true, []string{"--- FAIL", "DEEPRES_REQUIRE_GPU=1, but no NVIDIA GPU: libcuda.so.1 not found"}},
		{"yes", true, []string{"--- FAIL", `DEEPRES_REQUIRE_GPU="yes"`}},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildSkipsForLackOfGPU$", "-test.v")
		cmd.Env = append(os.Environ(), "GPUTEST_CHILD=1", Env+"="+tc.env)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.fail {
			t.Errorf("%s=%q: child failed %v, want %v:\n%s", Env, tc.env, failed, tc.fail, out)
		}
		for _, want := range tc.contains {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s=%q: child output lacks %q:\n%s", Env, tc.env, want, out)
			}
		}
	}
}
