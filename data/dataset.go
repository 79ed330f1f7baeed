package data

import "fmt"

// Kind names a dataset format.
type Kind int

const (
	CIFAR10  Kind = iota // CIFAR-10 binary release (3073-byte records)
	CIFAR100             // CIFAR-100 binary release (3074-byte records, fine labels)
	SVHN                 // SVHN format 2, MATLAB v5 .mat files
	Folder               // image folders <root>/<split>/<class>/*.{png,jpg}
)

func (k Kind) String() string {
	switch k {
	case CIFAR10:
		return "cifar10"
	case CIFAR100:
		return "cifar100"
	case SVHN:
		return "svhn"
	case Folder:
		return "folder"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for _, k := range []Kind{CIFAR10, CIFAR100, SVHN, Folder} {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("data: unknown dataset kind %q (want cifar10, cifar100, svhn or folder)", s)
}

// Split names a part of a dataset.
type Split int

const (
	Train Split = iota
	Test
	Extra // SVHN's 531,131 extra training images
)

func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Test:
		return "test"
	case Extra:
		return "extra"
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

// Dataset is a labelled set of N colour images of H×W pixels held in memory.
// Images is N×3×H×W bytes, each image in CHW order (all red, then green,
// then blue); Labels holds N class indices into Classes.
type Dataset struct {
	Name    string
	Images  []uint8
	Labels  []int32
	N, H, W int
	Classes []string
}

// ImageSize is the number of bytes of one image: 3·H·W.
func (ds *Dataset) ImageSize() int { return 3 * ds.H * ds.W }

// Image returns image i (3·H·W bytes, CHW), sharing ds.Images.
func (ds *Dataset) Image(i int) []uint8 {
	n := ds.ImageSize()
	return ds.Images[i*n : (i+1)*n]
}

// Subset returns a new dataset with the images idx, in that order (copied).
// It panics if an index is out of range.
func (ds *Dataset) Subset(idx []int) *Dataset {
	n := ds.ImageSize()
	out := &Dataset{
		Name:    ds.Name,
		Images:  make([]uint8, len(idx)*n),
		Labels:  make([]int32, len(idx)),
		N:       len(idx),
		H:       ds.H,
		W:       ds.W,
		Classes: ds.Classes,
	}
	for j, i := range idx {
		if i < 0 || i >= ds.N {
			panic(fmt.Sprintf("data: Subset index %d out of range [0,%d)", i, ds.N))
		}
		copy(out.Images[j*n:(j+1)*n], ds.Image(i))
		out.Labels[j] = ds.Labels[i]
	}
	return out
}

// FirstPerClass returns the indices of the first k images of each class, in
// dataset order; a class with fewer than k images gives all it has.
func (ds *Dataset) FirstPerClass(k int) []int {
	count := make(map[int32]int)
	var idx []int
	for i, l := range ds.Labels {
		if count[l] < k {
			count[l]++
			idx = append(idx, i)
		}
	}
	return idx
}

// Check verifies that the fields agree (sizes, labels within Classes) and
// returns an error naming the dataset otherwise.
func (ds *Dataset) Check() error {
	switch {
	case ds.N < 0 || ds.H <= 0 || ds.W <= 0:
		return fmt.Errorf("dataset %s: bad dimensions N=%d H=%d W=%d", ds.Name, ds.N, ds.H, ds.W)
	case len(ds.Images) != ds.N*ds.ImageSize():
		return fmt.Errorf("dataset %s: %d image bytes, want %d", ds.Name, len(ds.Images), ds.N*ds.ImageSize())
	case len(ds.Labels) != ds.N:
		return fmt.Errorf("dataset %s: %d labels, want %d", ds.Name, len(ds.Labels), ds.N)
	}
	for i, l := range ds.Labels {
		if l < 0 || int(l) >= len(ds.Classes) {
			return fmt.Errorf("dataset %s: image %d has label %d, want 0..%d", ds.Name, i, l, len(ds.Classes)-1)
		}
	}
	return nil
}
