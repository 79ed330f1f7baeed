package main

import (
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// checkFiniteFlags rejects NaN and infinite values in every floating-point
// flag of fs, typed or preset: strconv.ParseFloat accepts "NaN" and "Inf",
// and every comparison with NaN is false, so range checks let it through.
// Walking the flag set covers flags added later without code here.
func checkFiniteFlags(fs *pflag.FlagSet) error {
	var bad error
	fs.VisitAll(func(f *pflag.Flag) {
		if bad != nil {
			return
		}
		var values []string
		switch f.Value.Type() {
		case "float64", "float32":
			values = []string{f.Value.String()}
		case "float64Slice", "float32Slice":
			values = strings.Split(strings.Trim(f.Value.String(), "[]"), ",")
		default:
			return
		}
		for _, s := range values {
			if v, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !finite(v) {
				bad = usagef("--%s: %s is not a finite number", f.Name, s)
				return
			}
		}
	})
	return bad
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// parseFinite parses a number inside a string flag (--sd linear:P, --shortcut
// constant:A,B), refusing NaN and infinities.
func parseFinite(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && finite(v)
}
