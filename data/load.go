package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// Load reads one split of a dataset from dir:
//   - CIFAR10, CIFAR100 (Train, Test): the release's .bin files in dir or in
//     its release folder (cifar-10-batches-bin, cifar-100-binary), else read
//     straight from the release archive dir/cifar-10-binary.tar.gz or
//     dir/cifar-100-binary.tar.gz (what Download leaves; no extraction
//     needed), or from dir itself when it names that archive.
//   - SVHN (Train, Test, Extra): dir/{train,test,extra}_32x32.mat.
//   - Folder (Train, Test): ReadImageFolder(dir, "train" or "test"); dir may
//     be a .tar or .tar.gz, or a folder that holds one archive per split
//     named after it (cifar10-train.tar.gz, cifar10-test.tar.gz, as in the
//     CIFAR-10 JPEG copy). Each split takes its classes from its own
//     folders, so both splits must hold the same class folders.
//
// The result is checked with Dataset.Check.
func Load(kind Kind, dir string, split Split) (*Dataset, error) {
	var ds *Dataset
	var err error
	switch kind {
	case CIFAR10, CIFAR100:
		ds, err = loadCIFAR(kind, dir, split)
	case SVHN:
		ds, err = loadSVHN(dir, split)
	case Folder:
		if split == Extra {
			return nil, fmt.Errorf("data: image folders have no %s split", split)
		}
		ds, err = ReadImageFolder(splitArchive(dir, split.String()), split.String())
	default:
		panic(fmt.Sprintf("data: Load of unknown kind %d", int(kind)))
	}
	if err != nil {
		return nil, err
	}
	if err := ds.Check(); err != nil {
		return nil, err
	}
	return ds, nil
}

// svhnFile is the publisher's file name of an SVHN split.
func svhnFile(split Split) string { return split.String() + "_32x32.mat" }

func loadSVHN(dir string, split Split) (*Dataset, error) {
	if split != Train && split != Test && split != Extra {
		panic(fmt.Sprintf("data: unknown split %d", int(split)))
	}
	path := filepath.Join(dir, svhnFile(split))
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load svhn %s: %w%s", split, err, downloadHint(err))
	}
	defer fh.Close()
	ds, err := ReadSVHNMat(fh, path)
	if err != nil {
		return nil, fmt.Errorf("load svhn %s: %w", split, err)
	}
	ds.Name = "svhn " + split.String()
	return ds, nil
}

// splitArchive returns the archive in dir named after split (…train.tar.gz,
// …test.tgz, …) when dir is a folder without a split sub-folder and holds
// exactly one such archive; otherwise dir itself.
func splitArchive(dir, split string) string {
	if st, err := os.Stat(filepath.Join(dir, split)); err == nil && st.IsDir() {
		return dir
	}
	var found []string
	for _, ext := range []string{".tar.gz", ".tgz", ".tar"} {
		m, _ := filepath.Glob(filepath.Join(dir, "*"+split+ext))
		found = append(found, m...)
	}
	if len(found) == 1 {
		return found[0]
	}
	return dir
}
