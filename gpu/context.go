package gpu

/*
#include "cuda_calls.h"
*/
import "C"

import "sync"

// primary holds each device's primary context. It is retained once per
// process, on first use, and never released: cuDNN and cuBLAS work through
// the CUDA runtime, which keeps its own state (streams, memory, module
// handles) in the primary context, so releasing it on Close and retaining it
// again on the next Open could leave them holding a context the driver has
// destroyed (CUDA Driver API, cuDevicePrimaryCtxRelease: the context is
// destroyed when its use count drops to zero). The CUDA runtime itself, and
// so PyTorch, keeps the primary context until the process ends or
// cudaDeviceReset (CUDA Runtime API, "Interactions with the CUDA Driver API").
var primary onceEach[C.dr_CUdevice, C.dr_CUcontext]

// primaryContext returns dev's primary context, retaining it the first time.
func primaryContext(dev C.dr_CUdevice) (C.dr_CUcontext, error) {
	return primary.get(dev, func() (C.dr_CUcontext, error) {
		var ctx C.dr_CUcontext
		err := cuCheck("cuDevicePrimaryCtxRetain", C.dr_cuDevicePrimaryCtxRetain(&ctx, dev))
		return ctx, err
	})
}

// onceEach makes one value per key, on first request, and keeps it for the
// process; a failed make is not kept, so a later request tries again.
type onceEach[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

// held returns k's value if it was made, and makes nothing.
func (o *onceEach[K, V]) held(k K) (V, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.m[k]
	return v, ok
}

func (o *onceEach[K, V]) get(k K, make func() (V, error)) (V, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if v, ok := o.m[k]; ok {
		return v, nil
	}
	v, err := make()
	if err != nil {
		return v, err
	}
	if o.m == nil {
		o.m = map[K]V{}
	}
	o.m[k] = v
	return v, nil
}
