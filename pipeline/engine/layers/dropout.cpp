#include "pipeline/engine/layers/dropout.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/core/hashing.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"

#include <cmath>

namespace cvtl {

namespace {}  // namespace

Dropout::Dropout(float p, std::uint64_t seed) : p_(p), seed_(seed) {
    if (!(p >= 0.0f && p < 1.0f)) throw Error("dropout expects p in [0, 1), found " + std::to_string(p));
}

std::vector<int> Dropout::setup(const std::vector<int>& src_shape) {
    if (src_shape.empty() || element_count(src_shape) < 1)
        throw Error("dropout expects a non-empty sample shape, found " + shape_string(src_shape));
    shape_ = src_shape;
    return shape_;
}

void Dropout::reseed(std::uint64_t seed) {
    seed_ = seed;
    calls_ = 0;
}

void Dropout::forward(const cv::Mat& src, cv::Mat& dst, bool train) {
    const int n = batch_size(src, shape_, "dropout");
    if (!train) {
        dst = src;
        return;
    }
    make_output(dst, n, shape_, src);
    mask_.create(1, static_cast<int>(src.total()), CV_8U);

    // Element i of this call is the i-th output of a splitmix64 stream seeded by hash(seed, call).
    const std::uint64_t key = splitmix64(seed_ ^ splitmix64(calls_++));
    // Keep when the top 32 bits, uniform on [0, 2^32), reach p * 2^32.
    const auto threshold = static_cast<std::uint64_t>(std::ldexp(static_cast<double>(p_), 32));
    const float scale = 1.0f / (1.0f - p_);
    const float* in = src.ptr<float>();
    float* out = dst.ptr<float>();
    std::uint8_t* keep = mask_.ptr<std::uint8_t>();
    const auto count = static_cast<std::ptrdiff_t>(src.total());
    const auto first = n > 0 ? static_cast<std::uint64_t>(row_offset_) * (src.total() / static_cast<size_t>(n)) : 0;
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t i = 0; i < count; ++i) {
        keep[i] = (splitmix64(key + (first + static_cast<std::uint64_t>(i)) * kGoldenGamma) >> 32) >= threshold;
        out[i] = in[i] * (static_cast<float>(keep[i]) * scale);  // no branch: it would mispredict at random
    }
}

void Dropout::backward(const cv::Mat& src, const cv::Mat&, const cv::Mat& diff_dst, cv::Mat& diff_src,
                       bool need_diff_src) {
    const int n = batch_size(src, shape_, "dropout");
    check_batch(diff_dst, n, shape_, "dropout diff_dst");
    if (!need_diff_src) return;
    if (mask_.total() != diff_dst.total())
        throw Error("dropout backward expects a training forward of batch " + std::to_string(n) + " first, found none");
    make_output(diff_src, n, shape_, diff_dst);
    const float scale = 1.0f / (1.0f - p_);
    const float* in = diff_dst.ptr<float>();
    float* out = diff_src.ptr<float>();
    const std::uint8_t* keep = mask_.ptr<std::uint8_t>();
    const auto count = static_cast<std::ptrdiff_t>(diff_dst.total());
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < count; ++i) out[i] = in[i] * (static_cast<float>(keep[i]) * scale);
}

}  // namespace cvtl
