// Package train runs the training loop: SGD with momentum, learning-rate
// schedules and warm-up, evaluation, metrics, checkpoints with exact resume,
// a non-finite-loss guard and clean interruption. It never prints or exits.
package train
