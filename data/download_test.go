package data

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePublisher serves files (with Range support, via http.ServeContent)
// and records the Range header of each request.
type fakePublisher struct {
	mu       sync.Mutex
	files    map[string][]byte
	ranges   []string
	noRanges bool // behave like a server that ignores Range
}

func (p *fakePublisher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.ranges = append(p.ranges, r.Header.Get("Range"))
	b, ok := p.files[filepath.Base(r.URL.Path)]
	p.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if p.noRanges {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// withPublisher points Download at a local server and at the md5 sums of
// the given good files; served files may differ from them (corruption).
func withPublisher(t *testing.T, good, served map[string][]byte) *fakePublisher {
	p := &fakePublisher{files: served}
	srv := httptest.NewServer(p)
	oldC, oldS, oldMD5 := CIFARBaseURL, SVHNBaseURL, publishedMD5
	CIFARBaseURL, SVHNBaseURL = srv.URL+"/kriz/", srv.URL+"/svhn/"
	publishedMD5 = map[string]string{}
	for name, b := range good {
		sum := md5.Sum(b)
		publishedMD5[name] = hex.EncodeToString(sum[:])
	}
	t.Cleanup(func() {
		srv.Close()
		CIFARBaseURL, SVHNBaseURL, publishedMD5 = oldC, oldS, oldMD5
	})
	return p
}

func TestDownloadCIFAR(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	train, test := randomDataset(r, 10, 32, 32, 10), randomDataset(r, 2, 32, 32, 10)
	archive := makeTar(t, cifarRelease(t, CIFAR10, train, test), true)
	name := cifarArchive(CIFAR10)
	good := map[string][]byte{name: archive}
	corrupt := bytes.Clone(archive)
	corrupt[len(corrupt)/2] ^= 1

	t.Run("fresh", func(t *testing.T) {
		withPublisher(t, good, good)
		dir := filepath.Join(t.TempDir(), "new")
		var progress bytes.Buffer
		if err := Download(context.Background(), CIFAR10, dir, &progress); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, archive) {
			t.Fatalf("downloaded file differs (err %v)", err)
		}
		if s := progress.String(); !strings.Contains(s, "100%") || !strings.Contains(s, "MB/s") || !strings.Contains(s, name) {
			t.Errorf("progress output %q lacks the name, 100%% or MB/s", s)
		}
		ds, err := Load(CIFAR10, dir, Train) // straight from the archive
		if err != nil {
			t.Fatal(err)
		}
		sameData(t, ds, train)
	})
	for _, tc := range []struct {
		name      string
		part      []byte
		noRanges  bool
		wantRange string
	}{
		{"resume", archive[:len(archive)/3], false, "bytes=" + itoa(len(archive)/3) + "-"},
		{"resume ignored", archive[:len(archive)/3], true, "bytes=" + itoa(len(archive)/3) + "-"},
		{"part complete", archive, false, "bytes=" + itoa(len(archive)) + "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := withPublisher(t, good, good)
			p.noRanges = tc.noRanges
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, name+".part"), tc.part)
			if err := Download(context.Background(), CIFAR10, dir, nil); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, archive) {
				t.Fatalf("resumed file differs (err %v)", err)
			}
			if len(p.ranges) != 1 || p.ranges[0] != tc.wantRange {
				t.Errorf("requests with Range %q, want one with %q", p.ranges, tc.wantRange)
			}
			if _, err := os.Stat(filepath.Join(dir, name+".part")); !os.IsNotExist(err) {
				t.Errorf(".part left behind: %v", err)
			}
		})
	}
	t.Run("corrupted", func(t *testing.T) {
		withPublisher(t, good, map[string][]byte{name: corrupt})
		dir := t.TempDir()
		err := Download(context.Background(), CIFAR10, dir, nil)
		if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), name+".part") {
			t.Fatalf("got %v, want a checksum error naming the file", err)
		}
		for _, f := range []string{name, name + ".part"} {
			if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
				t.Errorf("%s exists after a failed check (%v)", f, err)
			}
		}
	})
	t.Run("corrupted part", func(t *testing.T) {
		withPublisher(t, good, good)
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, name+".part"), corrupt[:len(corrupt)*2/3])
		if err := Download(context.Background(), CIFAR10, dir, nil); !errors.Is(err, ErrChecksum) {
			t.Fatalf("got %v, want a checksum error", err)
		}
		// The bad .part is gone, so the next call starts afresh and succeeds.
		if err := Download(context.Background(), CIFAR10, dir, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("existing file checked", func(t *testing.T) {
		p := withPublisher(t, good, good)
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, name), corrupt)
		if err := Download(context.Background(), CIFAR10, dir, nil); !errors.Is(err, ErrChecksum) {
			t.Errorf("got %v, want a checksum error", err)
		}
		writeFile(t, filepath.Join(dir, name), archive)
		if err := Download(context.Background(), CIFAR10, dir, nil); err != nil || len(p.ranges) != 0 {
			t.Errorf("got %v after %d requests, want no error and no request", err, len(p.ranges))
		}
	})
	t.Run("not found", func(t *testing.T) {
		withPublisher(t, good, map[string][]byte{})
		err := Download(context.Background(), CIFAR10, t.TempDir(), nil)
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("got %v, want a 404 error", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		withPublisher(t, good, good)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Download(ctx, CIFAR10, t.TempDir(), nil); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
}

func TestDownloadSVHN(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	files := map[string][]byte{}
	sets := map[Split]*Dataset{}
	for _, s := range []Split{Train, Test, Extra} {
		sets[s] = randomDataset(r, 2+int(s), 32, 32, 10)
		files[svhnFile(s)] = writeMat(sets[s], matOptions{compressed: true})
	}
	p := withPublisher(t, files, files)
	dir := t.TempDir()
	if err := Download(context.Background(), SVHN, dir, nil); err != nil {
		t.Fatal(err)
	}
	if len(p.ranges) != 3 {
		t.Errorf("%d requests, want 3", len(p.ranges))
	}
	for s, want := range sets {
		got, err := Load(SVHN, dir, s)
		if err != nil {
			t.Fatal(err)
		}
		sameData(t, got, want)
	}
}

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in          string
		start, size int64
		ok          bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes */200", 0, 0, false},
		{"items 1-2/3", 0, 0, false},
		{"", 0, 0, false},
	} {
		start, size, ok := parseContentRange(tc.in)
		if start != tc.start || size != tc.size || ok != tc.ok {
			t.Errorf("%q: got %d %d %v, want %d %d %v", tc.in, start, size, ok, tc.start, tc.size, tc.ok)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
