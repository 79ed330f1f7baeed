// Package cudnn is a thin typed wrapper over cuDNN 9's legacy API, loaded at run
// time: handle, descriptors cached per shape and data type (float, bfloat16,
// half; always computing in float), convolution with algorithms found once per
// shape, batch norm and activations. It takes device pointers and a stream as plain values.
package cudnn
