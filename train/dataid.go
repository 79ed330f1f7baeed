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
// identity: only the path may change).
type DataIdentity struct {
	Kind        string
	Path        string
	Classes     []string
	TrainN      int
	TestN       int
	Fingerprint string // sha256 of a few records of each split, hex
}

// fingerprintRecords is how many evenly spaced records of each split the
// fingerprint reads: enough to tell two datasets apart, cheap for 600k images.
const fingerprintRecords = 16

// IdentifyData describes the train split (before any validation split) and
// the test split of a dataset loaded from path.
func IdentifyData(kind, path string, trainDS, testDS *data.Dataset) DataIdentity {
	h := sha256.New()
	id := DataIdentity{Kind: kind, Path: path, Classes: trainDS.Classes, TrainN: trainDS.N}
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
		id.TestN = testDS.N
		add(testDS)
	}
	id.Fingerprint = hex.EncodeToString(h.Sum(nil))[:16]
	return id
}

// Differs says how other differs from id, ignoring the path; "" if it does not.
func (id DataIdentity) Differs(other DataIdentity) string {
	var d []string
	if id.Kind != other.Kind {
		d = append(d, fmt.Sprintf("kind %s vs %s", id.Kind, other.Kind))
	}
	if strings.Join(id.Classes, ",") != strings.Join(other.Classes, ",") {
		d = append(d, fmt.Sprintf("classes %v vs %v", id.Classes, other.Classes))
	}
	if id.TrainN != other.TrainN || id.TestN != other.TestN {
		d = append(d, fmt.Sprintf("%d/%d train/test images vs %d/%d", id.TrainN, id.TestN, other.TrainN, other.TestN))
	}
	if len(d) == 0 && id.Fingerprint != other.Fingerprint {
		d = append(d, fmt.Sprintf("the images differ (fingerprint %s vs %s)", id.Fingerprint, other.Fingerprint))
	}
	return strings.Join(d, ", ")
}
