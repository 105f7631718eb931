#pragma once
// ReLU loops shared by the standalone ReLU and by the layers that fuse it (Conv2d, Linear).
#include <cstddef>

namespace cvtl {

// dst[i] = max(src[i], 0)
void relu_forward(const float* src, float* dst, std::ptrdiff_t count);

// diff_src[i] = dst[i] > 0 ? diff_dst[i] : 0. ReLU's derivative is read off its output, so the fused
// layers need not keep the pre-activation.
void relu_backward(const float* dst, const float* diff_dst, float* diff_src, std::ptrdiff_t count);

}  // namespace cvtl
