package ops

import "errors"

// ErrOutOfMemory is wrapped by Alloc errors when the device has no room;
// callers branch on it to suggest a smaller batch.
var ErrOutOfMemory = errors.New("out of device memory")
