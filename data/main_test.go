package data

import (
	"flag"
	"os"
	"testing"
)

// TestMain shortens the fuzzer's minimisation of new inputs (60 s by
// default) unless -test.fuzzminimizetime is given: CI fuzzes each reader
// for 10 s, and minimising one CIFAR record or tar would take all of it.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		if err := flag.Set("test.fuzzminimizetime", "1s"); err != nil {
			panic("data: " + err.Error())
		}
	}
	os.Exit(m.Run())
}
