// Package opstest is the conformance suite and the benchmarks that every
// ops.Backend runs: Run checks each op by hand-computed cases, finite
// differences and random cases against cpuref; Benchmarks times the hot ops.
package opstest
