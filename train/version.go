package train

import "runtime/debug"

// Version names the deepres that is running, as the Go toolchain stamped it
// into the binary: the module version, for a checkout the pseudo-version of
// its commit (with "+dirty" for uncommitted changes), or "(devel)" when
// nothing was stamped (go test, go run). Checkpoints record it (metadata
// "deepres_version"), so that a refusal names the deepres that wrote a file.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return "(devel) " + s.Value
		}
	}
	return "(devel)"
}
