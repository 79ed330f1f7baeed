#include "cuda_shim.h"

// The function tables; every pointer is NULL until driver.go fills it.
dr_cuda_api dr_cu;
dr_cublas_api dr_cublas;
dr_nvrtc_api dr_nvrtc;
