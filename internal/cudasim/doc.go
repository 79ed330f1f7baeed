// Package cudasim holds the tests of the NVIDIA-library simulator, whose C
// sources are in the folders below (cuda, nvrtc, cublas, cublaslt, cudnn)
// and which scripts/cudasim/build.sh builds. See README.md.
package cudasim
