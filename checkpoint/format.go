package checkpoint

// The safetensors layout (https://github.com/huggingface/safetensors, "Format"):
//
//	8 bytes   N, the header length, uint64 little-endian
//	N bytes   JSON object: {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}, ...},
//	          padded with spaces so that the data starts at a multiple of 8
//	rest      the tensors' bytes; data_offsets [begin, end) count from the start of this section,
//	          and the tensors cover it exactly, without holes or overlaps.

const (
	// metadataKey is the reserved header key for the string-to-string metadata.
	metadataKey = "__metadata__"
	// maxHeaderLen is the reference implementation's limit (MAX_HEADER_SIZE): a larger
	// length is a damaged or foreign file, and reading it would allocate without bound.
	maxHeaderLen = 100_000_000
	// headerAlign is the alignment of the data section that the reference writer pads to.
	headerAlign = 8
	// dtypeF32 is the only dtype deepres stores: every parameter and buffer is float32.
	dtypeF32 = "F32"
	// bytesF32 is the size of one F32 element.
	bytesF32 = 4
)

// otherDtypes are the safetensors dtypes we recognise but do not read, so that an
// error can tell "convert it" apart from "this is not a safetensors file".
var otherDtypes = map[string]bool{
	"BOOL": true, "U8": true, "I8": true, "U16": true, "I16": true, "F16": true, "BF16": true,
	"U32": true, "I32": true, "U64": true, "I64": true, "F64": true, "C64": true,
	"F8_E5M2": true, "F8_E4M3": true, "F8_E8M0": true, "F6_E2M3": true, "F6_E3M2": true, "F4": true,
}

// tensorInfo is one tensor's header entry. Fields are pointers so that a missing one
// is told apart from a zero one; unknown fields are ignored, as the reference reader does.
type tensorInfo struct {
	Dtype       *string   `json:"dtype"`
	Shape       *[]uint64 `json:"shape"`
	DataOffsets *[]uint64 `json:"data_offsets"`
}
