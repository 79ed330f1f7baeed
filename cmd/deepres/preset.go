package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/deepres/deepres/models"
	"github.com/deepres/deepres/train"
)

// presetAnnotation marks a flag that a preset set (pflag's Set marks it
// changed as if typed).
const presetAnnotation = "deepres-preset"

// typed reports whether the user typed flag name (rather than a preset setting it).
func typed(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed && f.Annotations[presetAnnotation] == nil
}

// applyPreset sets each flag of the named recipe that the user did not type,
// so a preset gives defaults and what the user typed wins. --epochs and
// --steps are one choice: typing either keeps the preset's length out. It
// returns the start-up line saying which values came from where.
func applyPreset(fs *pflag.FlagSet, name, dataset, model string) (string, error) {
	family := ""
	if c, err := models.Parse(model); err == nil {
		family = c.Family
	}
	settings, err := train.Preset(name, dataset, family)
	if err != nil {
		return "", usagef("--preset: %v", err)
	}
	userLength := fs.Changed("epochs") || fs.Changed("steps")
	var set, kept []string
	for _, s := range settings {
		if fs.Changed(s.Flag) || (userLength && (s.Flag == "epochs" || s.Flag == "steps")) {
			if fs.Changed(s.Flag) {
				kept = append(kept, fmt.Sprintf("--%s %s", s.Flag, fs.Lookup(s.Flag).Value))
			}
			continue
		}
		if err := fs.Set(s.Flag, s.Value); err != nil {
			panic("deepres: preset " + name + " sets --" + s.Flag + " to " + s.Value + ": " + err.Error())
		}
		// Set marks the flag changed; the mark says the user did not type it.
		if err := fs.SetAnnotation(s.Flag, presetAnnotation, []string{name}); err != nil {
			panic("deepres: " + err.Error())
		}
		set = append(set, fmt.Sprintf("--%s %s", s.Flag, s.Value))
	}
	line := fmt.Sprintf("preset %s set %s", name, strings.Join(set, " "))
	if len(kept) > 0 {
		line += fmt.Sprintf("; typed, so kept over the preset: %s", strings.Join(kept, " "))
	}
	return line, nil
}
