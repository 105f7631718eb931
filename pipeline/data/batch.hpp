#pragma once
// One mini-batch of cached rows, as the trainer consumes it: BatchStream (train/) makes it and
// data-parallel training (dist/) slices it, so it lives below both.
#include <opencv2/core.hpp>

#include <cstdint>
#include <vector>

namespace cvtl {

struct Batch {
    cv::Mat data;                    // [n, sample...] float32
    std::vector<int> labels;         // [n]
    std::vector<std::int64_t> rows;  // cache rows, for reports
};

}  // namespace cvtl
