#pragma once
// A sliding window (convolution or pooling) along one spatial axis: its output size and the right
// padding that realises it. The one formula every engine uses: the trainable layers, the head
// builder, cvtl's fast inference path and the ONNX exporter (docs/architecture.md, "Layer shapes").
namespace cvtl {

// PyTorch's and ONNX's output size for an input of `in`, padded by `pad` on both sides:
// floor((in + 2 pad - kernel) / stride) + 1, or with ceil_mode the ceiling, except that the last
// window must start inside the input or its left padding (PyTorch drops one that would start in the
// right padding). Returns 0 or less when no window fits; callers refuse that.
int window_output_size(int in, int kernel, int stride, int pad, bool ceil_mode = false);

// The right (bottom) padding that makes oneDNN's window arithmetic give `out`: never less than `pad`,
// more in ceil mode when the last window runs past it (max pooling ignores padded positions; average
// pooling excluding padding divides by the positions inside).
int window_right_padding(int in, int out, int kernel, int stride, int pad);

}  // namespace cvtl
