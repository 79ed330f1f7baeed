package data

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func sameData(t *testing.T, got, want *Dataset) {
	t.Helper()
	if got.N != want.N || got.H != want.H || got.W != want.W {
		t.Fatalf("got N,H,W = %d,%d,%d, want %d,%d,%d", got.N, got.H, got.W, want.N, want.H, want.W)
	}
	if !bytes.Equal(got.Images, want.Images) {
		t.Errorf("images differ")
	}
	if !slices.Equal(got.Labels, want.Labels) {
		t.Errorf("labels differ: got %v, want %v", got.Labels[:min(10, got.N)], want.Labels[:min(10, want.N)])
	}
}

func TestReadCIFAR(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		kind    Kind
		classes int
	}{{CIFAR10, 10}, {CIFAR100, 100}} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			want := randomDataset(r, 7, 32, 32, tc.classes)
			want.Labels[0] = int32(tc.classes - 1) // the top label is in range
			got, err := ReadCIFAR(bytes.NewReader(cifarRecords(want, tc.kind)), "x.bin", tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			sameData(t, got, want)
			if len(got.Classes) != tc.classes {
				t.Errorf("got %d classes, want %d", len(got.Classes), tc.classes)
			}
			if err := got.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCIFARClassNames(t *testing.T) {
	if len(cifar100Classes) != 100 || !slices.IsSorted(cifar100Classes) {
		t.Errorf("CIFAR-100 names: %d, sorted %v; want 100 sorted", len(cifar100Classes), slices.IsSorted(cifar100Classes))
	}
	if len(cifar10Classes) != 10 || cifar10Classes[0] != "airplane" || cifar10Classes[9] != "truck" {
		t.Errorf("CIFAR-10 names %v", cifar10Classes)
	}
}

func TestReadCIFARErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	good := cifarRecords(randomDataset(r, 3, 32, 32, 10), CIFAR10)
	bad10 := slices.Clone(good)
	bad10[3073] = 10 // label of record 1
	good100 := cifarRecords(randomDataset(r, 2, 32, 32, 100), CIFAR100)
	bad100 := slices.Clone(good100)
	bad100[1] = 100 // fine label of record 0
	for _, tc := range []struct {
		name string
		kind Kind
		data []byte
		want string
	}{
		{"truncated", CIFAR10, good[:len(good)-5], "x.bin: truncated record 2 (3068 of 3073 bytes)"},
		{"label", CIFAR10, bad10, "x.bin: record 1: label 10 out of range 0..9"},
		{"fine label", CIFAR100, bad100, "x.bin: record 0: label 100 out of range 0..99"},
		{"empty", CIFAR10, nil, "x.bin: no records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCIFAR(bytes.NewReader(tc.data), "x.bin", tc.kind)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// cifarRelease writes the split files of kind for train and test datasets
// and returns them as members under the release folder.
func cifarRelease(t *testing.T, kind Kind, train, test *Dataset) []tarMember {
	folder := cifarFolder(kind)
	var ms []tarMember
	tf, _ := cifarFiles(kind, Train)
	per := train.N / len(tf)
	for i, f := range tf {
		idx := make([]int, 0, per)
		for k := i * per; k < (i+1)*per; k++ {
			idx = append(idx, k)
		}
		ms = append(ms, tarMember{folder + "/" + f, cifarRecords(train.Subset(idx), kind)})
	}
	ef, _ := cifarFiles(kind, Test)
	ms = append(ms, tarMember{folder + "/" + ef[0], cifarRecords(test, kind)})
	return ms
}

func TestLoadCIFAR(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, kind := range []Kind{CIFAR10, CIFAR100} {
		classes := 10
		if kind == CIFAR100 {
			classes = 100
		}
		train, test := randomDataset(r, 10, 32, 32, classes), randomDataset(r, 3, 32, 32, classes)
		ms := cifarRelease(t, kind, train, test)
		// Three layouts: files in dir, in the release folder, in the archive
		// (members reversed: the reader must not rely on their order).
		flat, folder, archive := t.TempDir(), t.TempDir(), t.TempDir()
		for _, m := range ms {
			writeFile(t, filepath.Join(flat, filepath.Base(m.name)), m.data)
			writeFile(t, filepath.Join(folder, m.name), m.data)
		}
		rev := slices.Clone(ms)
		slices.Reverse(rev)
		writeFile(t, filepath.Join(archive, cifarArchive(kind)), makeTar(t, append([]tarMember{{cifarFolder(kind), nil}}, rev...), true))
		for _, tc := range []struct{ layout, dir string }{
			{"flat", flat}, {"folder", folder}, {"archive", archive},
			{"archive path", filepath.Join(archive, cifarArchive(kind))},
		} {
			t.Run(kind.String()+"/"+tc.layout, func(t *testing.T) {
				got, err := Load(kind, tc.dir, Train)
				if err != nil {
					t.Fatal(err)
				}
				sameData(t, got, train)
				got, err = Load(kind, tc.dir, Test)
				if err != nil {
					t.Fatal(err)
				}
				sameData(t, got, test)
			})
		}
	}
}

func TestLoadCIFARErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	train, test := randomDataset(r, 5, 32, 32, 10), randomDataset(r, 1, 32, 32, 10)
	ms := cifarRelease(t, CIFAR10, train, test)
	missing := t.TempDir()
	writeFile(t, filepath.Join(missing, cifarArchive(CIFAR10)), makeTar(t, ms[1:], true))
	corrupt := t.TempDir()
	gz := makeTar(t, ms, true)
	writeFile(t, filepath.Join(corrupt, cifarArchive(CIFAR10)), gz[:len(gz)/2])
	truncated := t.TempDir()
	for _, m := range ms {
		writeFile(t, filepath.Join(truncated, filepath.Base(m.name)), m.data)
	}
	writeFile(t, filepath.Join(truncated, "data_batch_3.bin"), ms[2].data[:100])
	for _, tc := range []struct{ name, dir, want string }{
		{"nothing", t.TempDir(), "no data_batch_1.bin"},
		{"missing member", missing, "has no member data_batch_1.bin"},
		{"corrupt archive", corrupt, cifarArchive(CIFAR10)},
		{"truncated file", truncated, "data_batch_3.bin: truncated record 0 (100 of 3073 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(CIFAR10, tc.dir, Train)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
