package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/deepres/deepres/internal/atomicfile"
)

// outputKind is a kind of file plot and report write: the name it goes by
// and how to recognise an existing one from its first bytes.
type outputKind struct {
	name string
	is   func(head []byte) bool
}

// outputKinds are the kinds by extension. An existing file is replaced only
// by a file of its own kind, so that a slip of -o (onto a checkpoint, a
// metrics log, notes) never destroys data.
var outputKinds = map[string]outputKind{
	".png": {"PNG image", func(h []byte) bool { return bytes.HasPrefix(h, []byte("\x89PNG\r\n\x1a\n")) }},
	".svg": {"SVG image", func(h []byte) bool { return bytes.Contains(h, []byte("<svg")) }},
	".pdf": {"PDF document", func(h []byte) bool { return bytes.HasPrefix(h, []byte("%PDF-")) }},
	// markdown is text: no NUL byte (a checkpoint's header length has some)
	".md": {"markdown file", func(h []byte) bool { return !bytes.ContainsRune(h, 0) }},
}

// checkOutput refuses an output path whose extension is not one of exts,
// or that names an existing file of another kind (or a folder), before
// anything is created.
func checkOutput(path string, exts ...string) error {
	ext := strings.ToLower(filepath.Ext(path))
	found := false
	for _, e := range exts {
		found = found || e == ext
	}
	if !found {
		return usagef("%s: writes %s files; give a name ending in %s", path, strings.Join(exts, ", "), strings.Join(exts, " or "))
	}
	kind := outputKinds[ext]
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a regular file; choose another name", path)
	}
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	if n > 0 && !kind.is(head[:n]) {
		return fmt.Errorf("%s exists and is not a %s; it is left as it is: remove it yourself or choose another name", path, kind.name)
	}
	return nil
}

// savePlot writes p to file (its format from the extension) as a
// checkpoint is written: a temporary file, synced and renamed over file.
func savePlot(p *plot.Plot, w, h vg.Length, file string) error {
	if err := checkOutput(file, ".png", ".svg", ".pdf"); err != nil {
		return err
	}
	wt, err := p.WriterTo(w, h, strings.TrimPrefix(strings.ToLower(filepath.Ext(file)), "."))
	if err != nil {
		return err
	}
	return atomicfile.Write(file, func(w io.Writer) error { _, err := wt.WriteTo(w); return err })
}
