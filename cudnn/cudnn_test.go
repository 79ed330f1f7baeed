package cudnn

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/deepres/deepres/internal/dl"
	"github.com/deepres/deepres/internal/gputest"
)

// loadOrSkip loads cuDNN or skips with the reason (fails, with
// DEEPRES_REQUIRE_GPU=1); where the library is missing, the error must still
// be the documented one.
func loadOrSkip(t *testing.T) {
	t.Helper()
	err := Load()
	if err == nil {
		return
	}
	if errors.Is(err, dl.ErrNotFound) {
		if !strings.Contains(err.Error(), "libcudnn.so.9") {
			t.Fatalf("not-found error does not name libcudnn.so.9: %v", err)
		}
		gputest.Skip(t, "no cuDNN: %v", err)
	}
	t.Fatalf("Load: %v", err)
}

func TestLoadNamesLibraryOrIsCUDNN9(t *testing.T) {
	loadOrSkip(t)
	if v := Version(); v < 90000 || v >= 100000 {
		t.Errorf("Version() = %d, want 9xxxx", v)
	}
}

// On a GPU machine: a handle on device 0's primary context (cuDNN's runtime
// makes it current) with both math modes, descriptors cached and closed twice.
func TestHandleLifecycle(t *testing.T) {
	loadOrSkip(t)
	for _, m := range []Math{FP32, TF32} {
		h, err := NewHandle(nil, m)
		if err != nil {
			gputest.Skip(t, "no usable GPU for cuDNN: %v", err)
		}
		d1, err := h.tensor(Shape4{N: 2, C: 3, H: 4, W: 5})
		if err != nil {
			t.Fatal(err)
		}
		d2, _ := h.tensor(Shape4{N: 2, C: 3, H: 4, W: 5})
		if d1 != d2 || len(h.tensors) != 1 {
			t.Errorf("tensor descriptor not cached: %v %v (%d cached)", d1, d2, len(h.tensors))
		}
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := h.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
}

// A convolution whose x, w and y are not in one layout is a caller's
// mistake (the gpu package converts a mix first): plan panics, naming the
// layouts, before any descriptor is made or device memory touched.
func TestConvMixedLayoutsPanic(t *testing.T) {
	loadOrSkip(t)
	h, err := NewHandle(nil, FP32)
	if err != nil {
		gputest.Skip(t, "no usable GPU for cuDNN: %v", err)
	}
	defer h.Close()
	x := Shape4{N: 2, C: 3, H: 4, W: 4, Layout: NHWC}
	w := Shape4{N: 5, C: 3, H: 3, W: 3}
	y := Shape4{N: 2, C: 5, H: 2, W: 2, Layout: NHWC}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "NHWC x, NCHW w and NHWC y") {
			t.Errorf("mixed layouts: recovered %v, want a panic naming them", r)
		}
	}()
	h.ConvForward(0, y, 0, x, 0, w, Conv{StrideH: 1, StrideW: 1}, Workspace{})
}
