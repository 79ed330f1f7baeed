package ops

// ElemSizer is implemented by tensors that say how many bytes of storage
// one element takes. Every backend stores float32 today; a tensor of
// another storage type (bfloat16, float16: issue 22) implements it, so that
// what counts bytes (ops/opbytes, memory limits) needs no change.
type ElemSizer interface {
	ElemBytes() int
}

// ElemBytes is the storage size of one of t's elements: t's own ElemBytes
// where it has one, else 4 (float32, the storage of every tensor that does
// not say otherwise).
func ElemBytes(t Tensor) int {
	if s, ok := t.(ElemSizer); ok {
		return s.ElemBytes()
	}
	return 4
}

// TensorBytes is the storage of t's elements: its length times ElemBytes.
func TensorBytes(t Tensor) int64 {
	return int64(t.Shape().Len()) * int64(ElemBytes(t))
}
