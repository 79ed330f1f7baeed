package dl

import (
	"errors"
	"strings"
)

// ErrNotFound is wrapped by Open's error when no place holds a loadable copy
// of the library; callers branch on it (gpu.ErrLibraryNotFound is the same value).
var ErrNotFound = errors.New("library not found")

// NotFoundError says which library was missing, every attempt and how to get it.
type NotFoundError struct {
	Library Library
	Tried   []string // one line per attempt: "PATH: why it failed"
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	b.WriteString(e.Library.sonames())
	b.WriteString(" (" + e.Library.Name + ") not found; tried:")
	for _, t := range e.Tried {
		b.WriteString("\n  " + t)
	}
	b.WriteString("\nto fix: " + e.Library.Hint)
	return b.String()
}

func (e *NotFoundError) Unwrap() error { return ErrNotFound }
