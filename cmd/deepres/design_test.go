package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docs/design.md quotes parameter counts; they must be what the builders
// make, as `deepres models --json` reports them.
func TestDesignParamCounts(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\| ([0-9,]+) \\|$")
	quoted := row.FindAllStringSubmatch(string(doc), -1)
	if len(quoted) < 8 {
		t.Fatalf("docs/design.md quotes %d parameter counts; want the table of at least 8 models", len(quoted))
	}
	out, stderr, code := run(t, "models", "--json")
	if code != 0 {
		t.Fatalf("models --json: exit %d: %s", code, stderr)
	}
	var listed []struct {
		Name   string
		Params int
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	for _, m := range listed {
		have[m.Name] = m.Params
	}
	for _, q := range quoted {
		want, _ := strconv.Atoi(strings.ReplaceAll(q[2], ",", ""))
		got, ok := have[q[1]]
		switch {
		case !ok:
			t.Errorf("docs/design.md quotes %s, which `deepres models` does not list", q[1])
		case got != want:
			t.Errorf("docs/design.md says %s has %d parameters; deepres builds %d", q[1], want, got)
		}
	}
}

// The repository stands alone: its documents never send a reader outside it.
func TestDocsStayInsideTheRepository(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	files = append(files, filepath.Join("..", "..", "README.md"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "](../") || strings.Contains(line, "shared/DESIGN") || strings.Contains(line, "shared/GPU") {
				t.Errorf("%s:%d links outside the repository: %s", f, i+1, line)
			}
		}
	}
}
