// Package models builds the networks of the three papers by name —
// resnet-D, preact-resnet-D, wrn-D-K — with every unit variant, stochastic
// depth and RoR, and runs their training step on any ops.Backend.
package models
