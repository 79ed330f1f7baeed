package dl

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

var fakeLib = Library{
	Name: "deepres test library",
	Variants: []Variant{
		{Soname: "libdeepres-fake.so.2"},
		{Soname: "libdeepres-fake.so.1"},
	},
	Hint: "it never exists",
}

// A missing library gives an error that wraps ErrNotFound and names the
// library, every place tried with the reason, and the hint.
func TestOpenMissingNamesEveryPlace(t *testing.T) {
	empty := t.TempDir()
	bad := t.TempDir()
	// Not an ELF file: present, so dlopen is tried and its dlerror reported.
	if err := os.WriteFile(filepath.Join(bad, "libdeepres-fake.so.1"), []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenIn(fakeLib, []string{empty, bad, Linker})
	if err == nil {
		t.Fatal("OpenIn succeeded on a library that does not exist")
	}
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("error does not wrap ErrNotFound: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"libdeepres-fake.so.2, libdeepres-fake.so.1 (deepres test library) not found",
		empty + ": none of libdeepres-fake.so.2, libdeepres-fake.so.1",
		filepath.Join(bad, "libdeepres-fake.so.1") + ": ",
		"libdeepres-fake.so.2 in the dynamic linker's path",
		"libdeepres-fake.so.1 in the dynamic linker's path",
		"to fix: it never exists",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// dlerror's own text for the bad file ends up in the message.
	if !strings.Contains(msg, "invalid ELF header") && !strings.Contains(msg, "file too short") {
		t.Errorf("error lacks dlerror's reason for the bad file:\n%s", msg)
	}
	// The empty folder is tried before the bad one, and both before the linker.
	if i, k := strings.Index(msg, empty), strings.Index(msg, bad); i < 0 || k < 0 || i > k {
		t.Errorf("places out of order in:\n%s", msg)
	}
}

// The real thing on a library every Linux system has.
func TestOpenAndSym(t *testing.T) {
	libm := Library{Name: "libm", Variants: []Variant{{Soname: "libm.so.6"}}}
	h, err := OpenIn(libm, []string{Linker})
	if err != nil {
		t.Skipf("libm.so.6 not loadable here: %v", err)
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"cos", true},
		{"deepres_no_such_symbol", false},
	}
	for _, tc := range tests {
		p, err := h.Sym(tc.name)
		if tc.ok && (err != nil || p == nil) {
			t.Errorf("Sym(%q) = %v, %v; want an address", tc.name, p, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.name)) {
			t.Errorf("Sym(%q) error = %v; want one naming the symbol", tc.name, err)
		}
	}
}

func TestLoadNamesAllMissing(t *testing.T) {
	libm := Library{Name: "libm", Variants: []Variant{{Soname: "libm.so.6"}}}
	h, err := OpenIn(libm, []string{Linker})
	if err != nil {
		t.Skipf("libm.so.6 not loadable here: %v", err)
	}
	var pcos, px, py = new(unsafePtr), new(unsafePtr), new(unsafePtr)
	err = h.Load([]Symbol{{"cos", &pcos.p}, {"deepres_x", &px.p}, {"deepres_y", &py.p}})
	if err == nil || !strings.Contains(err.Error(), "deepres_x, deepres_y") {
		t.Errorf("Load error = %v; want one naming deepres_x, deepres_y", err)
	}
	if pcos.p == nil {
		t.Error("Load did not store the address of cos")
	}
}

type unsafePtr struct{ p unsafe.Pointer }

// cuDNN's sub-libraries are preloaded by glob, graph first, so that releases
// with more of them than 9.0 (engines_tensor_ir, ext) load from a wheel
// folder too; the library itself and other versions are not preloaded.
func TestPreloadListCUDNN(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{
		"libcudnn.so.9", "libcudnn_adv.so.9", "libcudnn_cnn.so.9", "libcudnn_engines_precompiled.so.9",
		"libcudnn_engines_runtime_compiled.so.9", "libcudnn_engines_tensor_ir.so.9", "libcudnn_ext.so.9",
		"libcudnn_graph.so.9", "libcudnn_heuristic.so.9", "libcudnn_ops.so.9", "libcudnn_ops.so.8",
		"libcudnn_ops.so.9.8.0",
	} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, p := range preloadList(dir, CUDNN.Variants[0].Before) {
		got = append(got, filepath.Base(p))
	}
	want := []string{
		"libcudnn_graph.so.9", "libcudnn_adv.so.9", "libcudnn_cnn.so.9", "libcudnn_engines_precompiled.so.9",
		"libcudnn_engines_runtime_compiled.so.9", "libcudnn_engines_tensor_ir.so.9", "libcudnn_ext.so.9",
		"libcudnn_heuristic.so.9", "libcudnn_ops.so.9",
	}
	if !slices.Equal(got, want) {
		t.Errorf("preload order\n%q\nwant\n%q", got, want)
	}
}

// A library listed before its dependency loads in a second pass; one that
// can never load stops the passes instead of looping.
func TestLoadInPasses(t *testing.T) {
	deps := map[string]string{"adv": "ops", "ops": "graph", "graph": "", "broken": "missing"}
	loaded := map[string]bool{}
	var order []string
	open := func(p string) error {
		if d := deps[p]; d != "" && !loaded[d] {
			return errors.New(p + " needs " + d)
		}
		loaded[p] = true
		order = append(order, p)
		return nil
	}
	failed := loadInPasses([]string{"adv", "broken", "ops", "graph"}, open)
	if !slices.Equal(failed, []string{"broken"}) {
		t.Errorf("never loaded %q, want [broken]", failed)
	}
	if !slices.Equal(order, []string{"graph", "ops", "adv"}) {
		t.Errorf("load order %q, want graph, ops, adv (one per pass)", order)
	}
}

func TestMajor(t *testing.T) {
	tests := []struct {
		lib   Library
		major int
		want  []string
	}{
		{CUBLAS, 12, []string{"libcublas.so.12"}},
		{CUBLAS, 13, []string{"libcublas.so.13"}},
		{NVRTC, 12, []string{"libnvrtc.so.12"}},
		{CUBLAS, 0, nil},
		{CUBLAS, 11, nil},
		{CUBLAS, 1, nil}, // not a prefix match: .so.1 is not .so.12
	}
	for _, tc := range tests {
		l, ok := tc.lib.Major(tc.major)
		var got []string
		for _, v := range l.Variants {
			got = append(got, v.Soname)
		}
		if !slices.Equal(got, tc.want) || ok != (tc.want != nil) {
			t.Errorf("%s.Major(%d) = %q, %v; want %q", tc.lib.Name, tc.major, got, ok, tc.want)
		}
	}
	if l, _ := CUBLAS.Major(12); l.Variants[0].Before[0] != "libcublasLt.so.12" {
		t.Error("the variant's companions did not come with it")
	}
	if len(CUBLAS.Variants) != 2 {
		t.Error("Major changed the package's CUBLAS")
	}
}

// The major asked for is tried in every place before any other: a folder
// with only libcublas.so.13 (a cu13 wheel, sorted first) does not win over a
// later one with libcublas.so.12.
func TestMajorAcrossPlaces(t *testing.T) {
	cu13, cu12 := t.TempDir(), t.TempDir()
	for dir, f := range map[string]string{cu13: "libcublas.so.13", cu12: "libcublas.so.12"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not a library"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, _ := CUBLAS.Major(12)
	_, err := OpenIn(l, []string{cu13, cu12})
	if err == nil {
		t.Fatal("fake libraries loaded")
	}
	msg := err.Error()
	if !strings.Contains(msg, filepath.Join(cu12, "libcublas.so.12")+": ") || strings.Contains(msg, "libcublas.so.13") {
		t.Errorf("want only libcublas.so.12 tried, in the second folder:\n%s", msg)
	}
}
