// Package checkpoint reads and writes deepres checkpoints: one safetensors file of
// named F32 tensors plus string metadata, written atomically, read with full validation
// so that a damaged file is an error that names the file, the tensor and the fix.
package checkpoint
