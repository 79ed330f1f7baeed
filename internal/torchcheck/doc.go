// Package torchcheck holds only tests: an end-to-end comparison of the Go
// models (package models on the cpuref backend) with the independent PyTorch
// implementation in scripts/bench/pytorch_ref.py. For each configuration the
// test writes the same weights, momentum and input for both sides, runs one
// training step (forward, loss, backward, SGD) or an evaluation forward, and
// compares logits, per-sample losses, every gradient, every weight and
// momentum buffer after the step and the BN running statistics. A network
// too deep for float32 to reproduce its first step's gradients
// (preact-resnet-164 at initialisation) is compared in its logits and losses
// as usual, and in everything else against PyTorch computing in float64,
// to within a few times PyTorch float32's own error (compareExact).
//
// The test skips when /usr/bin/python3 cannot import torch.
package torchcheck
