// Package cudnn is a thin typed wrapper over cuDNN 9's legacy API, loaded at run
// time: handle, descriptors cached per shape, data type (float, bfloat16,
// half; always computing in float) and layout (NCHW, NHWC), convolution with
// algorithms found once per shape, batch norm (plain, and the extended calls
// that fuse ReLU or the shortcut addition and ReLU) and activations. It takes
// device pointers and a stream as plain values.
package cudnn
