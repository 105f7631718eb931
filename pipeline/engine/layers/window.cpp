#include "pipeline/engine/layers/window.hpp"

#include <algorithm>

namespace cvtl {

int window_output_size(int in, int kernel, int stride, int pad, bool ceil_mode) {
    const int span = in + 2 * pad - kernel;
    if (span < 0 || stride < 1) return 0;
    int out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad) --out;
    return out;
}

int window_right_padding(int in, int out, int kernel, int stride, int pad) {
    return std::max(pad, (out - 1) * stride + kernel - in - pad);
}

}  // namespace cvtl
