package dl

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

// dr_dlopen and dr_dlsym read dlerror on the same thread as the call it
// describes (dlerror is per thread, and a goroutine may move between cgo
// calls) and hand back a copy the caller frees.
static void *dr_dlopen(const char *path, char **err) {
	dlerror();
	void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (h == NULL) {
		const char *e = dlerror();
		*err = strdup(e ? e : "dlopen failed");
	}
	return h;
}

static void *dr_dlsym(void *h, const char *name, char **err) {
	dlerror();
	void *p = dlsym(h, name);
	const char *e = dlerror();
	if (e != NULL) {
		*err = strdup(e);
		return NULL;
	}
	if (p == NULL) {
		*err = strdup("symbol is NULL");
	}
	return p;
}
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// Handle is a loaded library. Handles are never closed: NVIDIA's libraries
// keep threads and contexts alive, and unloading them under a live context
// crashes, so one handle per library lives for the process (Open caches it).
type Handle struct {
	lib  Library
	path string
	h    unsafe.Pointer
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*Handle{}
)

// Open loads lib from the first place in EnvFromOS().Places() that has a
// loadable copy. Later calls return the same handle. The error wraps
// ErrNotFound and lists every attempt.
func Open(lib Library) (*Handle, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if h, ok := cache[lib.Name]; ok {
		return h, nil
	}
	h, err := OpenIn(lib, EnvFromOS().Places())
	if err != nil {
		return nil, err
	}
	cache[lib.Name] = h
	return h, nil
}

// OpenIn is Open over an explicit list of places (Linker for the linker's
// path), without the cache. In each place the variants are tried in order,
// so that an explicit folder wins over a newer soname elsewhere.
func OpenIn(lib Library, places []string) (*Handle, error) {
	var tried []string
	for _, place := range places {
		if place != Linker && !anyPresent(place, lib.Variants) {
			tried = append(tried, fmt.Sprintf("%s: none of %s", placeName(place), lib.sonames()))
			continue
		}
		for _, v := range lib.Variants {
			path := v.Soname
			if place != Linker {
				path = filepath.Join(place, v.Soname)
				if _, err := os.Stat(path); err != nil {
					continue
				}
			}
			preload(place, v.Before)
			h, err := dlopen(path)
			if err == nil {
				return &Handle{lib: lib, path: path, h: h}, nil
			}
			where := path
			if place == Linker {
				where = path + " in " + placeName(place)
			}
			tried = append(tried, where+": "+err.Error())
		}
	}
	return nil, &NotFoundError{Library: lib, Tried: tried}
}

func anyPresent(dir string, vs []Variant) bool {
	for _, v := range vs {
		if _, err := os.Stat(filepath.Join(dir, v.Soname)); err == nil {
			return true
		}
	}
	return false
}

// preload loads companions best effort: if one is missing, the library's own
// dlopen reports what it lacks, which is the more useful message.
func preload(place string, names []string) {
	if place == Linker {
		for _, name := range names {
			if !strings.ContainsAny(name, "*?[") {
				dlopen(name)
			}
		}
		return
	}
	loadInPasses(preloadList(place, names), func(path string) error {
		_, err := dlopen(path)
		return err
	})
}

// preloadList expands names (file names or glob patterns) in dir, in the
// order given, each file once: ["libcudnn_graph.so.9", "libcudnn_*.so.9"]
// lists the graph library first and then every other sub-library the
// release ships, sorted, whatever their number.
func preloadList(dir string, names []string) []string {
	var paths []string
	seen := map[string]bool{}
	for _, name := range names {
		matches, _ := filepath.Glob(filepath.Join(dir, name)) // sorted; patterns here are well-formed
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				paths = append(paths, m)
			}
		}
	}
	return paths
}

// loadInPasses opens every path, retrying those that failed for as long as a
// pass loads something new: a library whose dependency is a later one in the
// list (and not on the linker's path, as in a wheel's folder) loads once that
// dependency is in (the dynamic linker matches DT_NEEDED against the sonames
// already loaded). It returns the paths that never loaded.
func loadInPasses(paths []string, open func(string) error) []string {
	for len(paths) > 0 {
		var failed []string
		for _, p := range paths {
			if open(p) != nil {
				failed = append(failed, p)
			}
		}
		if len(failed) == len(paths) {
			return failed
		}
		paths = failed
	}
	return nil
}

func dlopen(path string) (unsafe.Pointer, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var cerr *C.char
	h := C.dr_dlopen(cpath, &cerr)
	if h == nil {
		defer C.free(unsafe.Pointer(cerr))
		return nil, fmt.Errorf("%s", C.GoString(cerr))
	}
	return h, nil
}

// Path is the file the library was loaded from (a bare soname when the
// dynamic linker found it).
func (h *Handle) Path() string { return h.path }

// Sym returns the address of the exported symbol name.
func (h *Handle) Sym(name string) (unsafe.Pointer, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var cerr *C.char
	p := C.dr_dlsym(h.h, cname, &cerr)
	if p == nil {
		defer C.free(unsafe.Pointer(cerr))
		return nil, fmt.Errorf("%s: symbol %s: %s", h.path, name, C.GoString(cerr))
	}
	return p, nil
}

// Symbol names one function to resolve and where to store its address
// (a field of a C function-pointer table, seen from Go as a pointer).
type Symbol struct {
	Name string
	Dst  *unsafe.Pointer
}

// Load resolves every symbol; the error names all that are missing, so that a
// too-old library is diagnosed in one go.
func (h *Handle) Load(syms []Symbol) error {
	var missing []string
	for _, s := range syms {
		p, err := h.Sym(s.Name)
		if err != nil {
			missing = append(missing, s.Name)
			continue
		}
		*s.Dst = p
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s (%s) lacks %s: it is too old or not the expected library", h.path, h.lib.Name, strings.Join(missing, ", "))
	}
	return nil
}
