#include "cudnn_shim.h"

// The function table; every pointer is NULL until lib.go fills it.
dr_cudnn_api dr_dnn;
