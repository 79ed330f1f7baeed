package checkpoint

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"math"
	"slices"
	"strings"
)

// ChecksumKey is the metadata key that holds a file's checksum: "sha256:" and 64
// hex digits. Write adds it and Read verifies it; neither shows it in File.Meta.
//
// The checksum is SHA-256 over a canonical form of everything else in the file, so
// that it does not depend on how the JSON header is spaced or ordered:
//
//	"deepres-checksum-1\n"
//	for each metadata key but this one, sorted:  len(key) key len(value) value
//	the number of tensors
//	for each tensor, sorted by name:             len(name) name "F32" ndim dims... SHA-256(its data bytes)
//
// every length and number a uint64, little-endian. Each tensor's bytes get their
// own digest so that a reader hashes them in one pass in file order, whatever that
// order is. safetensors readers (PyTorch's included) ignore metadata they do not
// use, so a checksummed file loads anywhere a plain one does.
const ChecksumKey = "checksum"

const checksumPrefix = "sha256:"

// tensorDigest is one tensor's part of the checksum.
type tensorDigest struct {
	name  string
	shape []int
	sum   [sha256.Size]byte
}

// checksum returns the value of ChecksumKey for meta (without that key) and the
// tensors' digests.
func checksum(meta map[string]string, tensors []tensorDigest) string {
	h := sha256.New()
	u64 := func(v uint64) { h.Write(binary.LittleEndian.AppendUint64(nil, v)) }
	str := func(s string) { u64(uint64(len(s))); h.Write([]byte(s)) }
	h.Write([]byte("deepres-checksum-1\n"))
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		if k != ChecksumKey {
			str(k)
			str(meta[k])
		}
	}
	tensors = slices.Clone(tensors)
	slices.SortFunc(tensors, func(a, b tensorDigest) int { return strings.Compare(a.name, b.name) })
	u64(uint64(len(tensors)))
	for _, t := range tensors {
		str(t.name)
		str(dtypeF32)
		u64(uint64(len(t.shape)))
		for _, d := range t.shape {
			u64(uint64(d))
		}
		h.Write(t.sum[:])
	}
	return checksumPrefix + hex.EncodeToString(h.Sum(nil))
}

// digestF32 hashes data as the little-endian bytes the file holds.
func digestF32(data []float32) [sha256.Size]byte {
	h := sha256.New()
	buf := make([]byte, 0, 64<<10)
	for _, v := range data {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		if len(buf) == cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	return sum(h)
}

func sum(h hash.Hash) (s [sha256.Size]byte) {
	h.Sum(s[:0])
	return s
}

// verifyChecksum compares the recorded checksum, if any, with the file's contents
// and returns it ("" when the file has none).
func verifyChecksum(meta map[string]string, tensors []tensorDigest) (string, error) {
	rec, ok := meta[ChecksumKey]
	if !ok {
		return "", nil
	}
	if !strings.HasPrefix(rec, checksumPrefix) || len(rec) != len(checksumPrefix)+2*sha256.Size {
		return "", fmt.Errorf("metadata %q is %q, not sha256:<64 hex digits>: a damaged file", ChecksumKey, rec)
	}
	if got := checksum(meta, tensors); got != rec {
		return "", fmt.Errorf("checksum mismatch: the file records %s but its contents give %s: "+
			"the file was damaged after it was written (disk, copy, transfer or an edit)", short(rec), short(got))
	}
	return rec, nil
}

// short abbreviates a checksum for messages.
func short(c string) string { return c[:min(len(c), len(checksumPrefix)+16)] + "…" }
