package cudasim

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The simulated cuDNN's self-tests build the simulator with the repository's
// one entry point, scripts/cudasim/build.sh, and run small C programs against
// it: each program is a separate process, since an error the simulator makes
// sticky stays for the life of the process, as on a GPU.

// dnnSim builds the simulator into a temporary folder, or skips where there
// is no C compiler.
func dnnSim(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc: the simulator is built from C sources")
	}
	_, here, _, _ := runtime.Caller(0)
	build := filepath.Join(filepath.Dir(here), "..", "..", "scripts", "cudasim", "build.sh")
	dir := t.TempDir()
	out, err := exec.Command("bash", build, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	for _, lib := range []string{"libcuda.so.1", "libcudnn.so.9"} {
		if _, err := os.Stat(filepath.Join(dir, lib)); err != nil {
			t.Fatalf("build.sh did not build %s: %v\n%s", lib, err, out)
		}
	}
	return dir
}

// dnnProgram compiles dnnPrelude + src against the simulator in lib.
func dnnProgram(t *testing.T, lib, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	c := filepath.Join(dir, name+".c")
	if err := os.WriteFile(c, []byte(dnnPrelude+src), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, name)
	cmd := exec.Command("gcc", "-std=gnu11", "-O1", "-Wall", "-o", exe, c, "-L"+lib, "-l:libcudnn.so.9", "-l:libcuda.so.1",
		"-Wl,-rpath,"+lib, "-lm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compile %s: %v\n%s", name, err, out)
	}
	return exe
}

// dnnRun runs a compiled program with extra environment variables and
// returns its stdout, its stderr and whether it exited with status 0.
func dnnRun(t *testing.T, exe string, env ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %s: %v", exe, err)
	}
	return o.String(), e.String(), err == nil
}

// dnnMustRun runs exe and fails the test unless it exits 0.
func dnnMustRun(t *testing.T, exe string, env ...string) string {
	t.Helper()
	out, errOut, ok := dnnRun(t, exe, env...)
	if !ok {
		t.Fatalf("%s failed\nstdout:\n%s\nstderr:\n%s", filepath.Base(exe), out, errOut)
	}
	return out
}

// dnnLines returns the lines of out that start with prefix, prefix removed.
func dnnLines(out, prefix string) []string {
	var r []string
	for _, l := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(l, prefix); ok {
			r = append(r, s)
		}
	}
	return r
}

// dnnPrelude declares, from NVIDIA's public API references, the driver and
// cuDNN functions the programs call, and helpers that move float arrays to
// and from device memory through pinned staging (an asynchronous copy from
// pageable memory is an error in the simulator's strict mode).
const dnnPrelude = `
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long long CUdeviceptr;
typedef void *CUcontext;
typedef void *CUstream;
int cuInit(unsigned);
int cuDeviceGet(int *, int);
int cuDevicePrimaryCtxRetain(CUcontext *, int);
int cuCtxSetCurrent(CUcontext);
int cuMemAlloc_v2(CUdeviceptr *, size_t);
int cuMemFree_v2(CUdeviceptr);
int cuMemHostAlloc(void **, size_t, unsigned);
int cuMemFreeHost(void *);
int cuMemcpyHtoDAsync_v2(CUdeviceptr, const void *, size_t, CUstream);
int cuMemcpyDtoHAsync_v2(void *, CUdeviceptr, size_t, CUstream);
int cuStreamSynchronize(CUstream);

typedef int st;
typedef void *H, *TD, *FD, *CD, *AD;
typedef struct { int algo; st status; float time; size_t memory; int determinism, mathType, reserved[3]; } Perf;
size_t cudnnGetVersion(void);
size_t cudnnGetCudartVersion(void);
const char *cudnnGetErrorString(st);
st cudnnCreate(H *);
st cudnnDestroy(H);
st cudnnSetStream(H, CUstream);
st cudnnCreateTensorDescriptor(TD *);
st cudnnSetTensor4dDescriptor(TD, int fmt, int dtype, int n, int c, int h, int w);
st cudnnCreateFilterDescriptor(FD *);
st cudnnSetFilter4dDescriptor(FD, int dtype, int fmt, int k, int c, int h, int w);
st cudnnCreateConvolutionDescriptor(CD *);
st cudnnSetConvolution2dDescriptor(CD, int ph, int pw, int u, int v, int dh, int dw, int mode, int ctype);
st cudnnSetConvolutionMathType(CD, int);
st cudnnCreateActivationDescriptor(AD *);
st cudnnSetActivationDescriptor(AD, int mode, int nan, double coef);
st cudnnConvolutionForward(H, const void *, TD, const void *, FD, const void *, CD, int, void *, size_t, const void *, TD, void *);
st cudnnConvolutionBackwardData(H, const void *, FD, const void *, TD, const void *, CD, int, void *, size_t, const void *, TD, void *);
st cudnnConvolutionBackwardFilter(H, const void *, TD, const void *, TD, const void *, CD, int, void *, size_t, const void *, FD, void *);
st cudnnFindConvolutionForwardAlgorithmEx(H, TD, const void *, FD, const void *, CD, TD, void *, int, int *, Perf *, void *, size_t);
st cudnnFindConvolutionBackwardDataAlgorithmEx(H, FD, const void *, TD, const void *, CD, TD, void *, int, int *, Perf *, void *, size_t);
st cudnnFindConvolutionBackwardFilterAlgorithmEx(H, TD, const void *, TD, const void *, CD, FD, void *, int, int *, Perf *, void *, size_t);
st cudnnBatchNormalizationForwardTraining(H, int, const void *, const void *, TD, const void *, TD, void *, TD,
	const void *, const void *, double, void *, void *, double, void *, void *);
st cudnnBatchNormalizationForwardInference(H, int, const void *, const void *, TD, const void *, TD, void *, TD,
	const void *, const void *, const void *, const void *, double);
st cudnnBatchNormalizationBackward(H, int, const void *, const void *, const void *, const void *, TD, const void *,
	TD, const void *, TD, void *, TD, const void *, void *, void *, double, const void *, const void *);
st cudnnActivationForward(H, AD, const void *, TD, const void *, const void *, TD, void *);
st cudnnActivationBackward(H, AD, const void *, TD, const void *, TD, const void *, TD, const void *, const void *, TD, void *);

enum { FLOAT = 0, NCHW = 0, CONVOLUTION = 0, CROSS = 1, DEFAULT_MATH = 0, TENSOR_OP = 1, FMA = 3,
	PER_ACT = 0, SPATIAL = 1, SIGMOID = 0, RELU = 1, NOPROP = 0, PROP = 1,
	OK = 0, BAD_PARAM = 2000, NOT_SUPPORTED = 3000 };

#define CK(x) do { int r_ = (x); if (r_ != 0) { fprintf(stderr, "%s:%d: %s = %d\n", __FILE__, __LINE__, #x, r_); exit(1); } } while (0)
#define WANT(x, want) do { int r_ = (x); if (r_ != (want)) { fprintf(stderr, "%s:%d: %s = %d, want %d\n", __FILE__, __LINE__, #x, r_, (want)); exit(1); } } while (0)
#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)

static H h;
static void setup(void) {
	CUcontext ctx;
	int dev;
	CK(cuInit(0));
	CK(cuDeviceGet(&dev, 0));
	CK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CK(cuCtxSetCurrent(ctx));
	CK(cudnnCreate(&h));
}
static void sync0(void) { CK(cuStreamSynchronize(NULL)); }
static void *dev(size_t n) { CUdeviceptr p; CK(cuMemAlloc_v2(&p, n * sizeof(float))); return (void *)(uintptr_t)p; }
static void put(void *d, const float *v, size_t n) {
	void *s; CK(cuMemHostAlloc(&s, n * sizeof(float), 0)); memcpy(s, v, n * sizeof(float));
	CK(cuMemcpyHtoDAsync_v2((CUdeviceptr)(uintptr_t)d, s, n * sizeof(float), NULL)); sync0(); CK(cuMemFreeHost(s));
}
static void *upload(const float *v, size_t n) { void *d = dev(n); put(d, v, n); return d; }
static float *download(const void *d, size_t n) {
	void *s; CK(cuMemHostAlloc(&s, n * sizeof(float), 0));
	CK(cuMemcpyDtoHAsync_v2(s, (CUdeviceptr)(uintptr_t)d, n * sizeof(float), NULL)); sync0();
	float *r = malloc(n * sizeof(float)); memcpy(r, s, n * sizeof(float)); CK(cuMemFreeHost(s)); return r;
}
static TD tensor(int n, int c, int hh, int w) { TD d; CK(cudnnCreateTensorDescriptor(&d)); CK(cudnnSetTensor4dDescriptor(d, NCHW, FLOAT, n, c, hh, w)); return d; }
static FD filter(int k, int c, int r, int s) { FD d; CK(cudnnCreateFilterDescriptor(&d)); CK(cudnnSetFilter4dDescriptor(d, FLOAT, NCHW, k, c, r, s)); return d; }
static CD conv(int ph, int pw, int u, int v, int dh, int dw, int mode, int math) {
	CD d; CK(cudnnCreateConvolutionDescriptor(&d)); CK(cudnnSetConvolution2dDescriptor(d, ph, pw, u, v, dh, dw, mode, FLOAT));
	CK(cudnnSetConvolutionMathType(d, math)); return d;
}
static uint64_t rng = 88172645463325252ull;
static double urand(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (double)(rng >> 11) / 9007199254740992.0; }
static float *randv(size_t n) { float *v = malloc(n * sizeof(float)); for (size_t i = 0; i < n; i++) v[i] = (float)(urand() * 2 - 1); return v; }
`
