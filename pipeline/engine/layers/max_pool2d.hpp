#pragma once
// Max pooling; training keeps oneDNN's workspace (the argmax of each window) for backward.
#include "pipeline/engine/layers/pool2d.hpp"

namespace cvtl {

// src [N, C, H, W] -> dst [N, C, OH, OW] (see Pool2d); padded positions never win.
class MaxPool2d : public Pool2d {
public:
    MaxPool2d(int kernel, int stride, int pad, bool ceil_mode = false)
        : Pool2d(Kind::max, kernel, stride, pad, ceil_mode) {}
    std::string type() const override { return "max_pool"; }
};

}  // namespace cvtl
