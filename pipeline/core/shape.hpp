#pragma once
// Tensor shapes as cvtl passes them around: std::vector<int>, one sample's ([C, H, W] or [D]) unless a
// batch axis is said to come first.
#include <cstddef>
#include <vector>

namespace cvtl {

// The number of values a tensor of this shape holds (1 for an empty shape). Shapes are checked on
// the way in (files, layers), so the product of checked dimensions fits in size_t.
inline std::size_t shape_count(const std::vector<int>& shape) {
    std::size_t count = 1;
    for (int d : shape) count *= static_cast<std::size_t>(d);
    return count;
}

}  // namespace cvtl
