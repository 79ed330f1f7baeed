package cudasim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// NVIDIA's real cuDNN runs its descriptor calls without a GPU: the simulator
// must answer them as it does. testdata/cudnn_calls.c drives every such call
// the simulator implements with valid and invalid arguments and prints a
// transcript; the real library's and the simulator's must be equal. The real
// library comes from a pinned stack (scripts/nvidia/fetch.sh STACK DIR, a pip
// --target layout) named by DEEPRES_NVIDIA_STACK.

// realCUDNN returns the path rel inside the stack folder, or skips (fails
// under DEEPRES_REQUIRE_NVIDIA=1, which CI sets) when there is none.
func realCUDNN(t *testing.T, rel string) string {
	t.Helper()
	dir := os.Getenv("DEEPRES_NVIDIA_STACK")
	why := ""
	switch {
	case dir == "":
		why = "DEEPRES_NVIDIA_STACK is not set (a folder from scripts/nvidia/fetch.sh STACK DIR)"
	default:
		if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
			why = fmt.Sprintf("DEEPRES_NVIDIA_STACK=%s has no %s", dir, rel)
		}
	}
	if why == "" {
		return filepath.Join(dir, rel)
	}
	if os.Getenv("DEEPRES_REQUIRE_NVIDIA") == "1" {
		t.Fatalf("DEEPRES_REQUIRE_NVIDIA=1, but %s", why)
	}
	t.Skip(why)
	return ""
}

func TestSimulatorCUDNNMatchesReal(t *testing.T) {
	real := realCUDNN(t, "nvidia/cudnn/lib/libcudnn.so.9")
	needBuild(t)
	exe := filepath.Join(t.TempDir(), "cudnn_calls")
	if out, err := exec.Command("gcc", "-std=gnu11", "-O1", "-Wall", "-o", exe, "testdata/cudnn_calls.c", "-ldl", "-lm").CombinedOutput(); err != nil {
		t.Fatalf("compiling testdata/cudnn_calls.c: %v\n%s", err, out)
	}
	// The real cuDNN 9 loads its sub-libraries (libcudnn_graph, _ops, _cnn)
	// from its own folder and needs nothing else for these calls.
	want := dnnTranscript(t, exe, real)
	got := dnnTranscript(t, exe, filepath.Join(simDir, "libcudnn.so.9"))
	if len(want.cases) != len(got.cases) {
		t.Fatalf("the real cuDNN ran %d cases, the simulator %d", len(want.cases), len(got.cases))
	}
	t.Logf("real cuDNN %d (CUDA %d) vs the simulator's %d: %d cases", want.version, want.cudart, got.version, len(want.cases))
	bad, crashes := 0, 0
	for i, w := range want.cases {
		g := got.cases[i]
		if n := len(w); n > 0 && strings.HasPrefix(w[n-1], "CRASH") {
			// A call the real library answers with a segmentation fault
			// (a NULL pointer it does not check) has no result to agree
			// with; the simulator's BAD_PARAM there is not compared. Only
			// cases the program marks may end so.
			if !want.mayCrash[i] {
				t.Errorf("case %d crashed the real cuDNN %d, unexpectedly: %s", i+1, want.version, strings.Join(w, " | "))
			}
			crashes++
			w = w[:n-1]
			if len(g) > len(w) {
				g = g[:len(w)]
			}
		}
		// The first disagreement of a case is reported, with the calls
		// before it: the calls after it depend on it.
		for j := 0; j < max(len(w), len(g)); j++ {
			wl, gl := dnnAt(w, j), dnnAt(g, j)
			if wl == gl || dnnNewerThanSimulator(wl, gl, want.version, got.version) {
				continue
			}
			bad++
			if bad <= 40 {
				t.Errorf("case %d, call %d: the simulator disagrees with the real cuDNN %d\n  real:      %s\n  simulator: %s\n  the case (real): %s",
					i+1, j+1, want.version, wl, gl, strings.Join(w[max(0, j-6):min(len(w), j+1)], " | "))
			}
			break
		}
	}
	if bad > 40 {
		t.Errorf("... %d cases disagree in all", bad)
	}
	t.Logf("%d cases crash the real cuDNN (NULL pointers it does not check), as marked: compared up to the crash", crashes)
}

func dnnAt(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(nothing)"
}

// A status added after the version the simulator claims is unknown to it, as
// to a real cuDNN of that version: "[since V]" lines are compared only where
// the simulator claims V or later.
var dnnSinceRE = regexp.MustCompile(`\[since (\d+)\]`)

func dnnNewerThanSimulator(real, sim string, realVersion, simVersion int) bool {
	m := dnnSinceRE.FindStringSubmatch(real)
	if m == nil {
		return false
	}
	since, _ := strconv.Atoi(m[1])
	return since > simVersion && realVersion >= since && strings.HasSuffix(sim, "CUDNN_UNKNOWN_STATUS")
}

type dnnCalls struct {
	version, cudart int
	cases           [][]string
	mayCrash        []bool // the case's last call may crash the real cuDNN
}

// transcript runs the program on the library at lib and splits its output
// into cases; '#' lines give the versions and are not compared.
func dnnTranscript(t *testing.T, exe, lib string) dnnCalls {
	t.Helper()
	cmd := exec.Command(exe, lib)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cudnn_calls %s: %v\n%s", lib, err, stderr.String())
	}
	var c dnnCalls
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "# cudnnGetVersion() = "):
			c.version, _ = strconv.Atoi(strings.TrimPrefix(l, "# cudnnGetVersion() = "))
		case strings.HasPrefix(l, "# cudnnGetCudartVersion() = "):
			c.cudart, _ = strconv.Atoi(strings.TrimPrefix(l, "# cudnnGetCudartVersion() = "))
		case strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "== case "):
			c.cases = append(c.cases, nil)
			c.mayCrash = append(c.mayCrash, strings.HasSuffix(l, "(may crash)"))
		case len(c.cases) > 0:
			c.cases[len(c.cases)-1] = append(c.cases[len(c.cases)-1], l)
		default:
			t.Fatalf("cudnn_calls %s: a line outside any case: %q", lib, l)
		}
	}
	if c.version == 0 || len(c.cases) == 0 {
		t.Fatalf("cudnn_calls %s printed no version or no case:\n%s", lib, out)
	}
	return c
}
