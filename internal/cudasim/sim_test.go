package cudasim

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The simulator and simcheck (testdata/simcheck.c), built once for the
// package's tests by TestMain.
var simDir, simcheck, buildErr string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cudasim-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	simDir = filepath.Join(dir, "lib")
	simcheck = filepath.Join(dir, "simcheck")
	buildErr = build(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build runs scripts/cudasim/build.sh and compiles simcheck with gcc, as CI
// does; the tests fail (not skip) without gcc, so CI cannot pass silently.
func build(dir string) string {
	if _, err := exec.LookPath("gcc"); err != nil {
		return "gcc is needed to build the simulator: " + err.Error()
	}
	out, err := exec.Command("bash", "../../scripts/cudasim/build.sh", simDir).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("build.sh: %v\n%s", err, out)
	}
	out, err = exec.Command("gcc", "-O1", "-Wall", "-o", simcheck, "testdata/simcheck.c", "-ldl", "-lm", "-lpthread").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("compiling simcheck: %v\n%s", err, out)
	}
	return ""
}

func needBuild(t *testing.T) {
	t.Helper()
	if buildErr != "" {
		t.Fatal(buildErr)
	}
}

// run runs one simcheck case with extra environment variables.
func run(t *testing.T, name string, env ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(simcheck, simDir, name)
	cmd.Env = append(os.Environ(), "CUDASIM_STRICT=1")
	cmd.Env = append(cmd.Env, env...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil || strings.TrimSpace(o.String()) != "ok" {
		t.Fatalf("simcheck %s: %v\n%s%s", name, err, o.String(), e.String())
	}
	return o.String(), e.String()
}

// build.sh writes the libraries under NVIDIA's sonames into DIR and nothing else.
func TestBuildWritesTheLibraries(t *testing.T) {
	needBuild(t)
	entries, err := os.ReadDir(simDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, want := range []string{"libcuda.so.1", "libcublas.so.13", "libcublasLt.so.13", "libnvrtc.so.13"} {
		if !slices.Contains(names, want) {
			t.Errorf("build.sh did not write %s (wrote %v)", want, names)
		}
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "lib") || !strings.Contains(n, ".so.") || strings.HasSuffix(n, ".tmp") {
			t.Errorf("build.sh left %s in DIR", n)
		}
	}
}

// Each strict check catches the bug it is there for; the stderr message
// names the call.
func TestStrictChecks(t *testing.T) {
	needBuild(t)
	for _, tc := range []struct {
		name       string
		env        []string
		wantStderr []string
	}{
		{name: "oob_kernel", wantStderr: []string{"cuLaunchKernel(fill_past_end)", "CUDA_ERROR_ILLEGAL_ADDRESS", "offset 4000 of the allocation of 4000 bytes"}},
		// Work waits CUDASIM_DELAY_MS unless the host waits for it: 5 s, so
		// that a loaded machine cannot let the copy run before the read.
		{name: "host_read_before_sync", env: []string{"CUDASIM_DELAY_MS=5000"}},
		{name: "pinned_rewritten", env: []string{"CUDASIM_DELAY_MS=5000"}},
		{name: "async_unpinned", wantStderr: []string{"cuMemcpyHtoDAsync_v2", "cuMemHostAlloc"}},
		{name: "async_unpinned", env: []string{"CUDASIM_STRICT=0"}}, // a GPU accepts it
		{name: "launch_2048", wantStderr: []string{"block 2048x1x1", "block 32x32x2", "fewer arguments"}},
		{name: "use_after_free", wantStderr: []string{"cuMemsetD32Async", "that was freed"}},
		{name: "kernel_after_free", wantStderr: []string{"cuLaunchKernel(fill)", "parameter 0", "that was freed"}},
		{name: "sticky", wantStderr: []string{"4 bytes past the end", "sticky"}},
		{name: "barrier"},
		{name: "race"},
		{name: "nvrtc_error"},
		{name: "nvrtc_arch_cap", env: []string{"CUDASIM_NVRTC_VERSION=12.6"}},
		{name: "nvrtc_options", wantStderr: []string{"not an image from the simulator's NVRTC", "extra buffer's size"}},
		{name: "sgemm"},
		{name: "out_of_memory", env: []string{"CUDASIM_MEMORY=1MiB"}},
		{name: "nan_fill"},
		// Stream capture and graphs: CUDASIM_DELAY_MS=5000 so that captured
		// work that wrongly ran at capture time would still be seen.
		{name: "graph_replay", env: []string{"CUDASIM_DELAY_MS=5000"}},
		{name: "graph_illegal", wantStderr: []string{"cuStreamSynchronize during stream capture", "cuMemAlloc_v2 during stream capture",
			"cuMemcpyHtoDAsync_v2 cannot be captured", "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT"}},
	} {
		t.Run(strings.Join(append([]string{tc.name}, tc.env...), ","), func(t *testing.T) {
			runExpecting(t, tc.name, tc.env, tc.wantStderr)
		})
	}
}

// runExpecting runs the check program's case name and requires each of
// want in what it wrote to stderr.
func runExpecting(t *testing.T, name string, env, want []string) {
	t.Helper()
	_, stderr := run(t, name, env...)
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

// The stats file counts what the program did.
func TestStatsFile(t *testing.T) {
	needBuild(t)
	countsAre(t, "stats", map[string]uint64{"allocs": 1, "kernel_launches": 3, "kernel:fill": 3, "stream_syncs": 1, "alloc_bytes": 400})
}

// countsAre runs the check program's case name with CUDASIM_STATS set (and
// env) and requires the counters it wrote to hold want, each present.
func countsAre(t *testing.T, name string, want map[string]uint64, env ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stats.json")
	run(t, name, append([]string{"CUDASIM_STATS=" + path}, env...)...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Counters map[string]uint64 `json:"counters"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%v:\n%s", err, data)
	}
	for k, v := range want {
		if got, ok := s.Counters[k]; !ok || got != v {
			t.Errorf("%s: %s = %d, want %d (%s)", name, k, s.Counters[k], v, data)
		}
	}
}

// A graph launch is one host API call however many nodes it replays; the
// stats file tells captured, launched and run work apart.
func TestGraphStats(t *testing.T) {
	needBuild(t)
	// graph_stats makes 21 calls into the libraries (counted in its source).
	countsAre(t, "graph_stats", map[string]uint64{"api_calls": 21, "kernel_launches": 3, "graph_nodes_captured": 3, "graph_instantiations": 1,
		"graph_launches": 2, "graph_nodes_launched": 6, "kernels_run": 6, "tasks_run": 6, "stream_syncs": 1})
}
