package train

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/deepres/deepres/data"
)

// DataIdentity says which data a run trained on, recorded in every
// checkpoint so that --resume refuses other data (moved data keeps its
// identity: only the path may change) and eval --split val refuses to
// carve a validation split out of data that is not the run's.
type DataIdentity struct {
	Kind    string
	Path    string
	Classes []string
	TrainN  int
	TestN   int
	// TrainSHA256 and TestSHA256 hash every label and every pixel of each
	// split (splitHash): one relabelled image changes them. Empty in
	// checkpoints of format deepres-1, which have only Fingerprint.
	TrainSHA256 string `json:",omitempty"`
	TestSHA256  string `json:",omitempty"`
	// Fingerprint is what format deepres-1 recorded: a hash of 16 evenly
	// spaced records of each split, which a relabelling of the others
	// passes. It is still computed to check those checkpoints.
	Fingerprint string `json:",omitempty"`
}

// fingerprintRecords is how many evenly spaced records of each split the
// deepres-1 fingerprint reads.
const fingerprintRecords = 16

// IdentifyData describes the train split (before any validation split) and
// the test split (nil: none) of a dataset loaded from path. Hashing all of
// CIFAR-10 (60,000 images, 184 MB) takes 0.36 s (CIFAR-10 JPEGs) to 0.58 s (generated
// CIFAR-10 binaries) on a loaded 2-core machine (BenchmarkIdentifyData).
func IdentifyData(kind, path string, trainDS, testDS *data.Dataset) DataIdentity {
	id := DataIdentity{Kind: kind, Path: path, Classes: trainDS.Classes, TrainN: trainDS.N,
		TrainSHA256: splitHash(trainDS), Fingerprint: sampleFingerprint(trainDS, testDS)}
	if testDS != nil {
		id.TestN, id.TestSHA256 = testDS.N, splitHash(testDS)
	}
	return id
}

// splitHash is the SHA-256, in hex, of a split's size, image shape, every
// label (int32 little-endian) and every pixel, in record order.
func splitHash(ds *data.Dataset) string {
	h := sha256.New()
	hdr := make([]byte, 0, 12+4*len(ds.Labels))
	for _, v := range []int{ds.N, ds.H, ds.W} {
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(v))
	}
	for _, l := range ds.Labels {
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(l))
	}
	h.Write(hdr)
	h.Write(ds.Images[:ds.N*ds.ImageSize()])
	return hex.EncodeToString(h.Sum(nil))
}

// sampleFingerprint is format deepres-1's Fingerprint.
func sampleFingerprint(trainDS, testDS *data.Dataset) string {
	h := sha256.New()
	add := func(ds *data.Dataset) {
		var hdr [16]byte
		binary.LittleEndian.PutUint32(hdr[0:], uint32(ds.N))
		binary.LittleEndian.PutUint32(hdr[4:], uint32(ds.H))
		binary.LittleEndian.PutUint32(hdr[8:], uint32(ds.W))
		h.Write(hdr[:12])
		for k := range min(fingerprintRecords, ds.N) {
			i := k * ds.N / min(fingerprintRecords, ds.N)
			binary.LittleEndian.PutUint32(hdr[12:], uint32(ds.Labels[i]))
			h.Write(hdr[12:])
			h.Write(ds.Image(i))
		}
	}
	add(trainDS)
	if testDS != nil {
		add(testDS)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Compare says how now, the data at hand, differs from id, the run's,
// ignoring the path ("" if it does not), and notes what it could not check:
// a deepres-1 identity has only the sample fingerprint.
func (id DataIdentity) Compare(now DataIdentity) (differs, note string) {
	var d []string
	if id.Kind != now.Kind {
		d = append(d, fmt.Sprintf("kind %s vs %s", id.Kind, now.Kind))
	}
	if strings.Join(id.Classes, ",") != strings.Join(now.Classes, ",") {
		d = append(d, fmt.Sprintf("classes %v vs %v", id.Classes, now.Classes))
	}
	if id.TrainN != now.TrainN || id.TestN != now.TestN {
		d = append(d, fmt.Sprintf("%d/%d train/test images vs %d/%d", id.TrainN, id.TestN, now.TrainN, now.TestN))
	}
	if len(d) > 0 {
		return strings.Join(d, ", "), ""
	}
	if id.TrainSHA256 == "" {
		note = "the run recorded only a sample of its data (format deepres-1: 16 records per split), so a relabelling elsewhere would pass unseen"
		if id.Fingerprint != now.Fingerprint {
			return fmt.Sprintf("the images or labels differ (sample fingerprint %s vs %s)", id.Fingerprint, now.Fingerprint), ""
		}
		return "", note
	}
	for _, s := range []struct{ split, a, b string }{{"training", id.TrainSHA256, now.TrainSHA256}, {"test", id.TestSHA256, now.TestSHA256}} {
		if s.a != s.b {
			d = append(d, fmt.Sprintf("the %s split's images or labels differ (sha256 %.12s… vs %.12s…)", s.split, s.a, s.b))
		}
	}
	return strings.Join(d, ", "), ""
}
