// Package gputest is what the tests of the GPU code share: how they skip for
// lack of a GPU or an NVIDIA library, and how DEEPRES_REQUIRE_GPU=1 turns
// those skips into failures where a GPU (or the simulator) is expected.
package gputest

import (
	"fmt"
	"os"
	"testing"
)

// Env is the variable that makes a missing GPU a failure. scripts/gpu/check.sh
// sets it, on a card and under the simulator, so that a machine with one
// library missing does not report the GPU tests as passed.
const Env = "DEEPRES_REQUIRE_GPU"

// Required reports whether $DEEPRES_REQUIRE_GPU asks for a GPU.
func Required() (bool, error) { return parse(os.Getenv(Env)) }

// parse reads the variable's value: "1" requires a GPU, "" and "0" do not;
// anything else is an error rather than a guess, since a setting someone
// typed is never silently ignored.
func parse(v string) (bool, error) {
	switch v {
	case "1":
		return true, nil
	case "", "0":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: want 1 (a missing GPU fails the test) or 0", Env, v)
}

// Skip skips t for lack of a GPU or an NVIDIA library, with the reason; with
// DEEPRES_REQUIRE_GPU=1 it fails t with the same reason instead.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	required, err := Required()
	if err != nil {
		t.Fatal(err)
	}
	reason := fmt.Sprintf(format, args...)
	if required {
		t.Fatalf("%s=1, but %s", Env, reason)
	}
	t.Skip(reason)
}
