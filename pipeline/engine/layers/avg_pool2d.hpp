#pragma once
// Average pooling; with kernel == H == W it is the global average pool of a classifier head.
#include "pipeline/engine/layers/pool2d.hpp"

namespace cvtl {

// src [N, C, H, W] -> dst [N, C, OH, OW] (see Pool2d, floor mode). count_include_pad: padded zeros count in
// each window's divisor (always kernel*kernel); otherwise only the positions inside the input do.
class AvgPool2d : public Pool2d {
public:
    AvgPool2d(int kernel, int stride, int pad, bool count_include_pad)
        : Pool2d(count_include_pad ? Kind::avg_include_pad : Kind::avg_exclude_pad, kernel, stride, pad, false) {}
    std::string type() const override { return "avg_pool"; }
};

}  // namespace cvtl
