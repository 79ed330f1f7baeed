package gpu

import (
	"errors"
	"strings"
	"testing"

	"github.com/deepres/deepres/internal/gputest"
	"github.com/deepres/deepres/ops"
	"github.com/deepres/deepres/ops/opstest"
)

// openOrSkip opens device 0 or skips with the reason (fails, with
// DEEPRES_REQUIRE_GPU=1).
func openOrSkip(t testing.TB, m MathMode) *Backend {
	t.Helper()
	return openWithOrSkip(t, Options{Math: m})
}

func openWithOrSkip(t testing.TB, o Options) *Backend {
	t.Helper()
	b, err := Open(0, o)
	skipNoGPU(t, err)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return b
}

// skipNoGPU skips t (fails it, with DEEPRES_REQUIRE_GPU=1) when err says
// there is no GPU or no NVIDIA library; other errors are the caller's.
func skipNoGPU(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrLibraryNotFound) || errors.Is(err, ErrNoDevice) {
		gputest.Skip(t, "no NVIDIA GPU: %v", err)
	}
}

// skipUnlessSimulator skips t unless the driver is the simulator
// (internal/cudasim): only it can play what the test needs (what, for the
// message), such as an older NVRTC or a newer device.
func skipUnlessSimulator(t *testing.T, what string) {
	t.Helper()
	devs, err := ListDevices()
	skipNoGPU(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(devs[0].Name, "cudasim") {
		t.Skip("needs the simulator (DEEPRES_CUDA_LIB_DIR): only it can play " + what)
	}
}

// Without a driver, Open and ListDevices fail cleanly with
// ErrLibraryNotFound and a message naming libcuda.so.1 and the fix.
func TestOpenWithoutDriver(t *testing.T) {
	_, err := ListDevices()
	if err == nil {
		t.Skip("a CUDA driver is present; the not-found path cannot be checked here")
	}
	for _, f := range []struct {
		name string
		err  error
	}{
		{"ListDevices", err},
		{"Open", func() error { _, err := Open(0, Options{}); return err }()},
	} {
		if errors.Is(f.err, ErrNoDevice) {
			gputest.Skip(t, "driver present, no device: %v", f.err)
		}
		if !errors.Is(f.err, ErrLibraryNotFound) {
			t.Errorf("%s: error does not wrap ErrLibraryNotFound: %v", f.name, f.err)
		}
		for _, want := range []string{"libcuda.so.1", "NVIDIA driver", "tried:"} {
			if f.err == nil || !strings.Contains(f.err.Error(), want) {
				t.Errorf("%s: error lacks %q: %v", f.name, want, f.err)
			}
		}
	}
}

func TestListDevices(t *testing.T) {
	devs, err := ListDevices()
	skipNoGPU(t, err)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		t.Logf("%+v", d)
		// FreeMemory is -1 on a device this process holds no context on.
		if d.Name == "" || d.ComputeMajor < 3 || d.ComputeMode == "" || d.TotalMemory <= 0 ||
			d.FreeMemory == 0 || d.FreeMemory < -1 || d.FreeMemory > d.TotalMemory {
			t.Errorf("implausible device: %+v", d)
		}
	}
}

// The embedded kernel sources hold every entry point the backend looks up,
// each once, with balanced braces; compile-kernels.sh compiles them for real.
func TestKernelSource(t *testing.T) {
	src, err := KernelSource()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range kernelNames {
		decl := `extern "C" __global__ void ` + name + "("
		if n := strings.Count(src, decl); n != 1 {
			t.Errorf("%s declared %d times", name, n)
		}
	}
	if n := strings.Count(src, `extern "C" __global__`); n != len(kernelNames) {
		t.Errorf("%d kernels in the source, %d in kernelNames", n, len(kernelNames))
	}
	if o, c := strings.Count(src, "{"), strings.Count(src, "}"); o != c {
		t.Errorf("%d '{' but %d '}'", o, c)
	}
	if strings.Contains(src, "#include") {
		t.Error("kernels include a header; NVRTC has no CUDA headers to offer them")
	}
}

func TestKernelArgs(t *testing.T) {
	tests := []struct {
		got, want uint64
	}{
		{f32(1), 0x3f800000},
		{f32(-2), 0xc0000000},
		{i32(-1), 0xffffffff},
		{i32(7), 7},
		{flag(true), 1},
		{flag(false), 0},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("case %d: slot %#x, want %#x", i, tc.got, tc.want)
		}
	}
}

// The conformance suite, strict FP32 against cpuref.
func TestConformanceFP32(t *testing.T) {
	b := openOrSkip(t, FP32)
	defer closeOK(t, b)
	opstest.Run(t, b, opstest.Options{})
}

// TF32 convolutions and linear layers: 10 mantissa bits, so looser bounds.
func TestConformanceTF32(t *testing.T) {
	b := openOrSkip(t, TF32)
	defer closeOK(t, b)
	opstest.Run(t, b, opstest.Options{Atol: 2e-2, Rtol: 1e-2, Short: true})
}

// Close is idempotent and the sticky error survives until then.
func TestCloseTwice(t *testing.T) {
	b := openOrSkip(t, FP32)
	x, err := b.Alloc(2, 3)
	if err != nil {
		t.Fatal(err)
	}
	b.Fill(x, 1.5)
	got := make([]float32, 6)
	if err := b.CopyOut(got, x); err != nil || got[5] != 1.5 {
		t.Errorf("CopyOut = %v, %v", got, err)
	}
	b.Free(x)
	closeOK(t, b)
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func closeOK(t testing.TB, b *Backend) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func BenchmarkOps(b *testing.B) {
	probe := openOrSkip(b, TF32)
	closeOK(b, probe)
	var opened []*Backend
	defer func() {
		for _, be := range opened {
			closeOK(b, be)
		}
	}()
	opstest.Benchmarks(b, func() ops.Backend {
		be := openOrSkip(b, TF32)
		opened = append(opened, be)
		return be
	})
}

// The GPU accepts exactly the option-A shapes the contract accepts
// (ops.ShortcutAStrides), odd sizes included, and hands the kernels the
// contract's strides.
func TestShortcutArgsFollowContract(t *testing.T) {
	for _, sh := range [][2]ops.Shape{
		{{2, 16, 32, 32}, {2, 32, 16, 16}},
		{{1, 3, 7, 7}, {1, 6, 4, 4}},
		{{1, 2, 7, 6}, {1, 3, 4, 2}},
		{{1, 3, 5, 5}, {1, 3, 4, 4}},
		{{1, 4, 4, 4}, {1, 2, 2, 2}},
	} {
		wantH, wantW, ok := ops.ShortcutAStrides(sh[0], sh[1])
		var args []uint64
		panicked := func() (p bool) {
			defer func() { p = recover() != nil }()
			args = shortcutArgs("ShortcutAForward", sh[0], sh[1])
			return false
		}()
		if panicked == ok {
			t.Errorf("%v → %v: GPU panics %v, contract accepts %v", sh[0], sh[1], panicked, ok)
			continue
		}
		if ok && (args[6] != i32(wantH) || args[7] != i32(wantW)) {
			t.Errorf("%v → %v: strides %d, %d; want %d, %d", sh[0], sh[1], args[6], args[7], wantH, wantW)
		}
	}
}
