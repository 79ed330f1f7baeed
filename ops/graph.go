package ops

// Capturer is implemented by a backend that can record the ops of a
// training step once and replay them with one call (gpu: CUDA graphs made
// by stream capture). cpuref does not implement it: callers check with a
// type assertion and run eagerly otherwise.
//
// Between BeginCapture and EndCapture ops are recorded, not run: their
// arguments (tensors, shapes, scalars) are fixed in the recording, so what
// changes from one launch to the next must be read from device memory
// (SGDParams.LRTensor). Alloc, Free, CopyIn, CopyOut and Sync are not
// allowed then (they panic); an op that the device cannot record (an
// algorithm search that has not run yet, say) makes EndCapture fail.
type Capturer interface {
	// BeginCapture starts recording. It returns an error when the device
	// cannot capture at all (an old driver); the backend is unchanged then.
	BeginCapture() error
	// EndCapture ends the recording and returns it ready to launch. On
	// error nothing was recorded or run, and the backend is usable: a
	// failed capture is not a device failure (Sync does not return it).
	EndCapture() (Graph, error)
}

// Graph is a recorded sequence of ops.
type Graph interface {
	// Launch queues the recorded ops again, in order, after the work queued
	// before; failures arrive as any op's do (the next Sync).
	Launch()
	// Close releases the recording; it is idempotent.
	Close() error
}

// Brancher is implemented by a Capturer that can record work whose running
// is decided on the device at each launch (gpu: CUDA conditional IF nodes).
// Stochastic depth uses it so that a captured step runs only the branches
// of the units its mask keeps (train/graphstep.go).
type Brancher interface {
	// CanBranch says why CaptureIf cannot be used (nil when it can): a
	// driver without conditional nodes, say.
	CanBranch() error
	// CaptureIf records, during a capture, then's ops to run at each launch
	// when cond[i] != 0 and otherwise's when cond[i] == 0, where cond is a
	// device tensor the caller writes before each launch. then is recorded
	// first; either may be nil. The two must leave the same tensors valid
	// for what is recorded after them. It panics outside a capture, inside
	// another CaptureIf's body, or when CanBranch is not nil.
	CaptureIf(cond Tensor, i int, then, otherwise func())
}
