package dockercheck

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is a FROM and the instructions after it.
type stage struct {
	image, name string
	body        []instruction
}

// parseDockerfile splits a Dockerfile into stages. It knows what this repository's
// Dockerfile uses: comments, backslash continuations, FROM image [AS name].
func parseDockerfile(text string) []stage {
	var stages []stage
	var logical []string
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur == "") {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		logical = append(logical, cur+trimmed)
		cur = ""
	}
	for _, l := range logical {
		cmd, args, _ := strings.Cut(l, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	return stages
}

// goVersion returns the language version (major.minor) of go.mod's go
// directive: "go 1.26" and "go 1.26.0" (what go mod tidy writes) both give
// 1.26, the golang image tag that tracks the newest 1.26.x.
func goVersion(gomod string) string {
	v := goDirective(gomod)
	if parts := strings.SplitN(v, ".", 3); len(parts) == 3 {
		return parts[0] + "." + parts[1]
	}
	return v
}

// codeLines returns the lines inside the fenced code blocks of a Markdown text.
func codeLines(md string) []string {
	var lines []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			in = !in
			continue
		}
		if in {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines
}

var (
	golangImage  = regexp.MustCompile(`^golang:([0-9][0-9.]*)-(bookworm|bullseye)$`)
	runtimeImage = regexp.MustCompile(`^nvidia/cuda:1[23]\.[0-9]+(\.[0-9]+)?-cudnn-runtime-ubuntu24\.04$`)
)

// check returns every way in which the Dockerfile, go.mod and the Docker docs disagree
// with each other or with what the image must be (issue 7).
func check(dockerfile, gomod, docs string) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	stages := parseDockerfile(dockerfile)
	if len(stages) < 2 {
		return []string{fmt.Sprintf("want a multi-stage Dockerfile, found %d stages", len(stages))}
	}

	// The build stage: golang image of go.mod's version on an old enough glibc.
	build := stages[0]
	if m := golangImage.FindStringSubmatch(build.image); m == nil {
		bad("build stage image %q is not golang:<version>-bookworm (or bullseye)", build.image)
	} else if want := goVersion(gomod); m[1] != want {
		bad("build stage uses Go %s, go.mod says %s", m[1], want)
	}
	var buildCmd string
	for _, in := range build.body {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			buildCmd = in.args
		}
	}
	if buildCmd == "" {
		bad("build stage has no RUN ... go build")
	} else {
		if !strings.HasPrefix(buildCmd, "CGO_ENABLED=1 ") || !strings.HasSuffix(buildCmd, " ./cmd/deepres") {
			bad("build command %q must have cgo on and build ./cmd/deepres", buildCmd)
		}
		var documented []string
		for _, l := range codeLines(docs) {
			if strings.Contains(l, "go build") {
				documented = append(documented, l)
			}
		}
		if len(documented) != 1 || documented[0] != buildCmd {
			bad("docs show the build command as %q, the Dockerfile runs %q", documented, buildCmd)
		}
	}

	// The runtime stage.
	final := stages[len(stages)-1]
	if !runtimeImage.MatchString(final.image) {
		bad("runtime image %q is not nvidia/cuda:<12.x|13.x>-cudnn-runtime-ubuntu24.04", final.image)
	}
	var user, entrypoint string
	var volumes []string
	copied := false
	for _, in := range final.body {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "VOLUME":
			var list []string
			if json.Unmarshal([]byte(in.args), &list) != nil {
				list = strings.Fields(in.args)
			}
			volumes = append(volumes, list...)
		case "COPY":
			copied = copied || strings.Contains(in.args, "--from="+build.name+" /out/deepres ")
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		bad("runtime stage runs as %q, want a non-root USER", user)
	}
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || !slices.Equal(ep, []string{"deepres"}) {
		bad(`ENTRYPOINT is %q, want ["deepres"]`, entrypoint)
	}
	for _, v := range []string{"/data", "/runs"} {
		if !slices.Contains(volumes, v) {
			bad("no VOLUME %s (have %v)", v, volumes)
		}
	}
	if !copied {
		bad("runtime stage does not COPY --from=%s /out/deepres", build.name)
	}

	// The docs show the run that these volumes and the entrypoint imply.
	for _, want := range []string{"--gpus all", ":/data", ":/runs", "deepres devices", "libcuda.so.1", "nvidia-container-toolkit"} {
		if !strings.Contains(docs, want) {
			bad("docs/docker.md does not mention %q", want)
		}
	}
	return problems
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDockerfile checks the real files.
func TestDockerfile(t *testing.T) {
	for _, p := range check(readRepoFile(t, "Dockerfile"), readRepoFile(t, "go.mod"), readRepoFile(t, "docs/docker.md")) {
		t.Error(p)
	}
}

// TestCheckCatches breaks the real files one way at a time and expects check to say so,
// so that TestDockerfile passing means something.
func TestCheckCatches(t *testing.T) {
	dockerfile := readRepoFile(t, "Dockerfile")
	gomod := readRepoFile(t, "go.mod")
	docs := readRepoFile(t, "docs/docker.md")
	replace := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("%q not found: update this test with the Dockerfile", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	tests := []struct {
		name                    string
		dockerfile, gomod, docs string
		want                    string
	}{
		{"go.mod moves on", dockerfile, replace(gomod, "\ngo "+goDirective(gomod)+"\n", "\ngo 1.27.0\n"), docs, "go.mod says 1.27"},
		{"newer glibc builder", replace(dockerfile, "-bookworm", "-trixie"), gomod, docs, "build stage image"},
		{"build flags drift", replace(dockerfile, "go build -trimpath", "go build"), gomod, docs, "docs show the build command"},
		{"runs as root", replace(dockerfile, "USER deepres", "USER root"), gomod, docs, "non-root USER"},
		{"shell-form entrypoint", replace(dockerfile, `ENTRYPOINT ["deepres"]`, "ENTRYPOINT deepres"), gomod, docs, "ENTRYPOINT"},
		{"no runs volume", replace(dockerfile, `"/runs"]`, `"/out"]`), gomod, docs, "no VOLUME /runs"},
		{"devel base image", replace(dockerfile, "-cudnn-runtime-", "-cudnn-devel-"), gomod, docs, "runtime image"},
		{"docs lose the gpus flag", dockerfile, gomod, strings.ReplaceAll(docs, "--gpus all", "--gpus=all"), `mention "--gpus all"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problems := check(tc.dockerfile, tc.gomod, tc.docs)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("problems %q, want one saying %q", problems, tc.want)
			}
		})
	}
}

// goDirective is go.mod's go directive as written ("1.26" or "1.26.0").
func goDirective(gomod string) string {
	for _, line := range strings.Split(gomod, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "go" {
			return f[1]
		}
	}
	return ""
}
