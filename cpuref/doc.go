// Package cpuref is deepres's pure-Go reference backend: every ops.Backend op as
// plain loops over float32 slices, im2col + a blocked matmul for convolutions,
// float64 for long sums, goroutines over a fixed partition so results are reproducible.
package cpuref
