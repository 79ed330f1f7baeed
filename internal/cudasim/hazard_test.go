package cudasim

import (
	"strings"
	"testing"
)

// Cross-stream hazards (cuda/hazard.c): one program, one case per run
// (CASE=name), since a hazard is a sticky error for the life of the process.
// A case prints "ok" when every call returned what it expects; the test
// then checks what stderr says.
const hazardSrc = `
typedef void *CUgraph, *CUgraphExec;
int cuStreamCreate(CUstream *, unsigned);
int cuMemsetD32Async(CUdeviceptr, unsigned, size_t, CUstream);
int cuStreamBeginCapture_v2(CUstream, unsigned);
int cuStreamEndCapture(CUstream, CUgraph *);
int cuGraphInstantiateWithFlags(CUgraphExec *, CUgraph, unsigned long long);
int cuGraphLaunch(CUgraphExec, CUstream);
int cuLaunchHostFunc(CUstream, void (*)(void *), void *);
enum { LAUNCH_FAILED = 719, NONBLOCKING = 1, BLOCKING = 0 };
#define PER_THREAD ((CUstream)2)

static CUdeviceptr D, E;
static void *pinned;
static void nothing(void *u) { (void)u; }

/* set writes v into D on stream s; get reads D back on stream s. */
static int set(CUstream s, unsigned v) { return cuMemsetD32Async(D, v, 256, s); }
static int get(CUstream s) { return cuMemcpyDtoHAsync_v2(pinned, D, 1024, s); }
static CUstream stream(unsigned flags) { CUstream s; CK(cuStreamCreate(&s, flags)); return s; }

int main(void) {
	setup();
	const char *c = getenv("CASE");
	CK(cuMemAlloc_v2(&D, 1024));
	CK(cuMemAlloc_v2(&E, 1024));
	CK(cuMemHostAlloc(&pinned, 1024, 0));
	if (!strcmp(c, "nonblocking_then_legacy")) {
		/* The bug class of issue 24: work on the legacy stream reading what a
		 * non-blocking stream wrote, with nothing between them. */
		CUstream s = stream(NONBLOCKING);
		CK(set(s, 1));
		WANT(get(NULL), LAUNCH_FAILED);
	} else if (!strcmp(c, "legacy_then_nonblocking")) {
		CUstream s = stream(NONBLOCKING);
		CK(set(NULL, 1));
		WANT(set(s, 2), LAUNCH_FAILED);
	} else if (!strcmp(c, "synchronised")) {
		CUstream s = stream(NONBLOCKING), t = stream(NONBLOCKING);
		CK(set(s, 1));
		CK(cuStreamSynchronize(s));
		CK(get(NULL));
		CK(cuStreamSynchronize(NULL));
		CK(set(t, 3));
		CK(cuStreamSynchronize(t));
		CK(set(s, 4));
		CK(cuStreamSynchronize(s));
		CK(cuStreamSynchronize(NULL));
		if (*(unsigned *)pinned != 1) FAIL("read back %u, want 1", *(unsigned *)pinned);
	} else if (!strcmp(c, "blocking_and_legacy")) {
		/* Implicit synchronisation: legacy waits for blocking streams, a
		 * blocking stream for legacy, and the per-thread default stream is
		 * ordered with legacy. */
		CUstream s = stream(BLOCKING);
		CK(set(s, 1));
		CK(get(NULL));
		CK(set(NULL, 2));
		CK(get(s));
		CK(set(PER_THREAD, 3));
		CK(get(NULL));
		CK(cuStreamSynchronize(s));
		CK(cuStreamSynchronize(NULL));
	} else if (!strcmp(c, "two_nonblocking")) {
		CUstream s = stream(NONBLOCKING), t = stream(NONBLOCKING);
		CK(set(s, 1));
		CK(cuMemsetD32Async(E, 1, 256, t)); /* other memory: fine */
		WANT(get(t), LAUNCH_FAILED);
	} else if (!strcmp(c, "write_after_read")) {
		CUstream s = stream(NONBLOCKING), t = stream(NONBLOCKING);
		CK(get(s));
		CK(get(t)); /* two readers: fine */
		WANT(set(t, 2), LAUNCH_FAILED);
	} else if (!strcmp(c, "host_func")) {
		/* A host function takes its place in its stream, it does not
		 * synchronise the host with the stream. */
		CUstream s = stream(NONBLOCKING);
		CK(set(s, 1));
		CK(cuLaunchHostFunc(s, nothing, NULL));
		WANT(get(NULL), LAUNCH_FAILED);
	} else if (!strcmp(c, "free_drains")) {
		/* cuMemFree_v2 waits for all queued work, as cudaFree does. */
		CUstream s = stream(NONBLOCKING);
		CK(set(s, 1));
		CK(cuMemFree_v2(E));
		CK(get(NULL));
		CK(cuStreamSynchronize(NULL));
	} else if (!strcmp(c, "graph_launch")) {
		/* A graph launch is taken to touch all device memory. */
		CUstream s = stream(NONBLOCKING);
		CUgraph g;
		CUgraphExec e;
		CK(cuStreamBeginCapture_v2(s, 0));
		CK(cuMemsetD32Async(E, 1, 256, s));
		CK(get(s)); /* captured: recorded, not checked */
		CK(cuStreamEndCapture(s, &g));
		CK(cuGraphInstantiateWithFlags(&e, g, 0));
		CK(cuGraphLaunch(e, s));
		WANT(get(NULL), LAUNCH_FAILED);
	} else if (!strcmp(c, "cudnn_on_legacy")) {
		/* A cuDNN handle left on the legacy stream reads what deepres's
		 * non-blocking stream wrote: its operands are declared by the
		 * simulated cuDNN. */
		CUstream s = stream(NONBLOCKING);
		AD a;
		CK(cudnnCreateActivationDescriptor(&a));
		CK(cudnnSetActivationDescriptor(a, RELU, PROP, 0));
		TD d = tensor(1, 1, 16, 16);
		float one = 1, zero = 0;
		CK(set(s, 0));
		WANT(cudnnActivationForward(h, a, &one, d, (void *)(uintptr_t)D, &zero, d, (void *)(uintptr_t)E), 5001);
	} else {
		FAIL("no case %s", c);
	}
	printf("ok\n");
	return 0;
}
`

func TestCrossStreamHazards(t *testing.T) {
	lib := dnnSim(t)
	exe := dnnProgram(t, lib, "hazard", hazardSrc)
	for _, tc := range []struct {
		name       string
		wantStderr []string // nil: no hazard may be reported
	}{
		{"nonblocking_then_legacy", []string{"cuMemcpyDtoHAsync_v2: CUDA_ERROR_LAUNCH_FAILED: cross-stream hazard: it reads",
			"on the legacy default stream, which cuMemsetD32Async on non-blocking stream #1 (its task 1) writes"}},
		{"legacy_then_nonblocking", []string{"cuMemsetD32Async: CUDA_ERROR_LAUNCH_FAILED: cross-stream hazard: it writes",
			"on non-blocking stream #1, which cuMemsetD32Async on the legacy default stream"}},
		{"synchronised", nil},
		{"blocking_and_legacy", nil},
		{"two_nonblocking", []string{"cross-stream hazard", "non-blocking stream #2, which cuMemsetD32Async on non-blocking stream #1"}},
		{"write_after_read", []string{"cuMemsetD32Async: CUDA_ERROR_LAUNCH_FAILED: cross-stream hazard: it writes",
			"which cuMemcpyDtoHAsync_v2 on non-blocking stream #1 (its task 1) reads"}},
		{"host_func", []string{"cross-stream hazard", "cuMemsetD32Async on non-blocking stream #1"}},
		{"free_drains", nil},
		{"graph_launch", []string{"cuMemcpyDtoHAsync_v2: CUDA_ERROR_LAUNCH_FAILED: cross-stream hazard", "which cuGraphLaunch on non-blocking stream #1"}},
		{"cudnn_on_legacy", []string{"cudnnActivationForward: CUDA_ERROR_LAUNCH_FAILED: cross-stream hazard",
			"which cuMemsetD32Async on non-blocking stream #1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, ok := dnnRun(t, exe, "CASE="+tc.name, "CUDASIM_STRICT=1")
			if !ok || !strings.Contains(out, "ok") {
				t.Fatalf("case failed:\n%s\n%s", out, errOut)
			}
			if tc.wantStderr == nil && strings.Contains(errOut, "hazard") {
				t.Errorf("a hazard reported where NVIDIA's rules order the work:\n%s", errOut)
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// CUDASIM_STRICT=0 does what a GPU does: no check, the race runs.
func TestCrossStreamHazardsOffWhenNotStrict(t *testing.T) {
	lib := dnnSim(t)
	exe := dnnProgram(t, lib, "hazard", hazardSrc)
	_, errOut, ok := dnnRun(t, exe, "CASE=nonblocking_then_legacy", "CUDASIM_STRICT=0")
	if ok || !strings.Contains(errOut, "= 0, want 719") {
		t.Errorf("with CUDASIM_STRICT=0 the read should have been queued (CUresult 0):\n%s", errOut)
	}
}
