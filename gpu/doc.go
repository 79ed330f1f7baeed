// Package gpu is deepres's NVIDIA backend: an ops.Backend that runs on one CUDA
// device through the driver API, cuDNN, cuBLAS and NVRTC-compiled kernels, all
// loaded at run time so that the package builds and its tests skip without a GPU.
package gpu
