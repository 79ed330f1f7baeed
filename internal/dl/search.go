package dl

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Env is what the search path is made of. It is plain data so that tests can
// build one; EnvFromOS reads the real one.
type Env struct {
	LibDir     string   // $DEEPRES_CUDA_LIB_DIR: searched first, alone
	PythonPath []string // $PYTHONPATH entries, each a site-packages-like folder
	VirtualEnv string   // $VIRTUAL_ENV
	// PythonBin is the python3 found on $PATH, as found (not resolved
	// through symlinks): a virtual environment's bin/python3 is a symlink
	// to the system's, and only the unresolved path leads to the venv.
	PythonBin string
	Home      string // for ~/.local/lib/python3*/site-packages
	// SystemLibs are the system Python library roots, e.g. /usr/local/lib and
	// /usr/lib, under which python3*/{site,dist}-packages are scanned.
	SystemLibs []string
}

// EnvFromOS returns the search environment of this process.
func EnvFromOS() Env {
	home, _ := os.UserHomeDir()
	// LookPath fails (ErrNotFound, or ErrDot for a relative PATH entry) when
	// there is no usable python3; the search then goes without it.
	py, err := exec.LookPath("python3")
	if err != nil {
		py = ""
	}
	var pp []string
	for _, p := range filepath.SplitList(os.Getenv("PYTHONPATH")) {
		if p != "" {
			pp = append(pp, p)
		}
	}
	return Env{
		LibDir:     os.Getenv("DEEPRES_CUDA_LIB_DIR"),
		PythonPath: pp,
		VirtualEnv: os.Getenv("VIRTUAL_ENV"),
		PythonBin:  py,
		Home:       home,
		SystemLibs: []string{"/usr/local/lib", "/usr/lib"},
	}
}

// Linker stands in Places for the dynamic linker's own search path
// (LD_LIBRARY_PATH, ld.so.cache, /usr/lib/...): the bare soname is dlopened.
const Linker = ""

// Places returns the folders searched, in order, ending with Linker:
// the explicit override; then NVIDIA's Python wheel folders
// (site-packages/nvidia/*/lib) in Python's own precedence — $PYTHONPATH, the
// active virtual environment, the environment of the python3 on $PATH (a
// venv used without activating it, as containers and GPU hosts often do),
// the user's site, the system's; then the dynamic linker's path. Folders
// are cleaned and listed once.
func (e Env) Places() []string {
	var places []string
	seen := map[string]bool{}
	add := func(dir string) {
		dir = filepath.Clean(dir)
		if !seen[dir] {
			seen[dir] = true
			places = append(places, dir)
		}
	}
	if e.LibDir != "" {
		add(e.LibDir)
	}
	var sites []string
	sites = append(sites, e.PythonPath...)
	if e.VirtualEnv != "" {
		sites = append(sites, glob(filepath.Join(e.VirtualEnv, "lib", "python3*", "site-packages"))...)
	}
	if e.PythonBin != "" {
		sites = append(sites, prefixSites(e.PythonBin)...)
	}
	if e.Home != "" {
		sites = append(sites, glob(filepath.Join(e.Home, ".local", "lib", "python3*", "site-packages"))...)
	}
	for _, root := range e.SystemLibs {
		sites = append(sites, glob(filepath.Join(root, "python3*", "site-packages"))...)
		sites = append(sites, glob(filepath.Join(root, "python3*", "dist-packages"))...)
	}
	for _, site := range sites {
		for _, lib := range glob(filepath.Join(site, "nvidia", "*", "lib")) {
			add(lib)
		}
	}
	return append(places, Linker)
}

// prefixSites returns the site-packages folders of the Python installation or
// virtual environment that the interpreter at bin belongs to, without running
// it: the prefix is the parent of the interpreter's folder (PEP 405: a venv's
// pyvenv.cfg and lib/ sit next to bin/; site.py's getsitepackages() is
// prefix/lib/pythonX.Y/site-packages on POSIX).
func prefixSites(bin string) []string {
	prefix := filepath.Dir(filepath.Dir(bin))
	return glob(filepath.Join(prefix, "lib", "python3*", "site-packages"))
}

// glob lists existing folders matching pattern, sorted (filepath.Glob sorts).
// Patterns here are well-formed, so its only error cannot happen.
func glob(pattern string) []string {
	matches, _ := filepath.Glob(pattern)
	var dirs []string
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			dirs = append(dirs, m)
		}
	}
	return dirs
}

// placeName is how a place appears in messages.
func placeName(place string) string {
	if place == Linker {
		return "the dynamic linker's path (LD_LIBRARY_PATH, ld.so.cache)"
	}
	return place
}

// sonames lists a library's sonames, for messages.
func (l Library) sonames() string {
	names := make([]string, len(l.Variants))
	for i, v := range l.Variants {
		names[i] = v.Soname
	}
	return strings.Join(names, ", ")
}
