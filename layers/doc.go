// Package layers holds the modules deep residual networks are built from —
// convolution, batch norm, ReLU, dropout, linear, pooling and every residual
// unit of the three papers — with explicit Forward/Backward on an ops.Backend.
package layers
