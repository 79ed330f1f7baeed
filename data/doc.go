// Package data reads CIFAR-10/100, SVHN and image-folder datasets, downloads the
// published archives with checksums, splits, shuffles, augments and normalises them,
// and feeds float32 NCHW batches from a deterministic goroutine pipeline.
package data
