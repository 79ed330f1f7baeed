// Package dl finds and loads NVIDIA's shared libraries at run time (dlopen/dlsym),
// so that deepres builds and runs without a CUDA SDK and fails with an error that
// names the missing library, every place tried and how to get it.
package dl
