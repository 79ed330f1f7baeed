package data

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Publishers' locations; tests point them at a local server.
var (
	CIFARBaseURL = "https://www.cs.toronto.edu/~kriz/"
	SVHNBaseURL  = "http://ufldl.stanford.edu/housenumbers/"
	// HTTPClient does the downloads.
	HTTPClient = http.DefaultClient
)

// ErrChecksum is wrapped by the error of a file whose md5 differs from the
// publisher's.
var ErrChecksum = errors.New("checksum mismatch")

// remoteFile is one published file.
type remoteFile struct {
	base, name string
}

// remoteFiles lists what Download fetches for kind.
func remoteFiles(kind Kind) []remoteFile {
	switch kind {
	case CIFAR10:
		return []remoteFile{{CIFARBaseURL, "cifar-10-binary.tar.gz"}}
	case CIFAR100:
		return []remoteFile{{CIFARBaseURL, "cifar-100-binary.tar.gz"}}
	case SVHN:
		return []remoteFile{{SVHNBaseURL, "train_32x32.mat"}, {SVHNBaseURL, "test_32x32.mat"}, {SVHNBaseURL, "extra_32x32.mat"}}
	}
	panic(fmt.Sprintf("data: nothing to download for %s", kind))
}

// publishedMD5 holds the publishers' md5 sums (CIFAR:
// https://www.cs.toronto.edu/~kriz/cifar.html; SVHN: as quoted by
// torchvision's SVHN dataset). Tests replace it for generated files.
var publishedMD5 = map[string]string{
	"cifar-10-binary.tar.gz":  "c32a1d4ab5d03f1284b67883e8d87530",
	"cifar-100-binary.tar.gz": "03b5dce01913d631647c71ecec9e9cb8",
	"train_32x32.mat":         "e26dedcc434d2e4c54c9b2d4a06d8373",
	"test_32x32.mat":          "eb5a983be6a315427106f1b69d2919d5",
	"extra_32x32.mat":         "a93ce644f1a588dc4d68dda5feec44a7",
}

// Download fetches the published files of kind (CIFAR10, CIFAR100 or SVHN;
// it panics for Folder) into dir, which it creates. A file already in dir
// is checked, not fetched again. A fetch goes to <name>.part, resuming an
// existing .part with an HTTP Range request, is checked against the
// publisher's md5 and only then renamed to <name>; a .part that fails the
// check is removed so that the next call starts afresh. CIFAR archives are
// left packed: Load reads them directly. When progress is not nil a
// progress line (bytes, %, MB/s) is written to it.
func Download(ctx context.Context, kind Kind, dir string, progress io.Writer) error {
	files := remoteFiles(kind)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("download %s: %w", kind, err)
	}
	for _, f := range files {
		if err := fetch(ctx, f, dir, progress); err != nil {
			return fmt.Errorf("download %s: %w", kind, err)
		}
	}
	return nil
}

func fetch(ctx context.Context, f remoteFile, dir string, progress io.Writer) error {
	final := filepath.Join(dir, f.name)
	if _, err := os.Stat(final); err == nil {
		return verifyMD5(final, publishedMD5[f.name])
	}
	part := final + ".part"
	fh, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer fh.Close() // after the explicit Close below, a no-op
	have, err := fh.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if err := get(ctx, f.base+f.name, fh, have, part, progress); err != nil {
		return err
	}
	if err := fh.Sync(); err != nil {
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	if err := verifyMD5(part, publishedMD5[f.name]); err != nil {
		os.Remove(part)
		return err
	}
	return os.Rename(part, final)
}

// get appends url's bytes from offset have onward to fh, starting over if
// the server does not honour the range.
func get(ctx context.Context, url string, fh *os.File, have int64, name string, progress io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	total := int64(-1)
	switch {
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		return nil // the .part is already whole; the checksum decides
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return fmt.Errorf("GET %s: bad Content-Range %q for a resume at %d", url, resp.Header.Get("Content-Range"), have)
		}
		total = size
	case resp.StatusCode == http.StatusOK:
		// A fresh download, or a server that ignored Range: start over.
		if err := fh.Truncate(0); err != nil {
			return err
		}
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return err
		}
		have = 0
		if resp.ContentLength >= 0 {
			total = resp.ContentLength
		}
	default:
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var w io.Writer = fh
	if progress != nil {
		p := newProgressBar(progress, filepath.Base(name), have, total)
		defer p.finish()
		w = io.MultiWriter(fh, p)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w (rerun to resume)", url, err)
	}
	return nil
}

// parseContentRange reads "bytes start-end/size" (RFC 9110 §14.4); size is
// -1 when the server writes "*".
func parseContentRange(s string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if sz == "*" {
		return start, -1, true
	}
	size, err = strconv.ParseInt(sz, 10, 64)
	return start, size, err == nil
}

func verifyMD5(path, want string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	h := md5.New()
	if _, err := io.Copy(h, fh); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s: %w: md5 %s, want %s (HINT: delete it and download again)", path, ErrChecksum, got, want)
	}
	return nil
}
