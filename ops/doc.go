// Package ops is the contract every deepres backend meets: the Backend
// interface, the Tensor handle and its Shape, op parameters and errors.
// It holds no maths; cpuref is the reference implementation and gpu the fast one.
package ops
