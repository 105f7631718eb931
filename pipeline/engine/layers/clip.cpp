#include "pipeline/engine/layers/clip.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"

namespace cvtl {

Clip::Clip(float lo, float hi) : lo_(lo), hi_(hi) {
    if (!(lo < hi)) throw Error("clip expects min < max, found " + std::to_string(lo) + " and " + std::to_string(hi));
}

std::vector<int> Clip::setup(const std::vector<int>& src_shape) {
    if (src_shape.empty() || element_count(src_shape) < 1)
        throw Error("clip expects a non-empty sample shape, found " + shape_string(src_shape));
    shape_ = src_shape;
    return shape_;
}

void Clip::forward(const cv::Mat& src, cv::Mat& dst, bool) {
    const int n = batch_size(src, shape_, "clip");
    make_output(dst, n, shape_, src);
    const float* x = src.ptr<float>();
    float* y = dst.ptr<float>();
    const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(src.total());
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < count; ++i) y[i] = x[i] < lo_ ? lo_ : x[i] > hi_ ? hi_ : x[i];  // NaN passes
}

void Clip::backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                    bool need_diff_src) {
    const int n = batch_size(src, shape_, "clip");
    check_batch(dst, n, shape_, "clip dst");
    check_batch(diff_dst, n, shape_, "clip diff_dst");
    if (!need_diff_src) return;
    make_output(diff_src, n, shape_, diff_dst);
    const float* y = dst.ptr<float>();
    const float* dy = diff_dst.ptr<float>();
    float* dx = diff_src.ptr<float>();
    const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(diff_dst.total());
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < count; ++i) dx[i] = y[i] > lo_ && y[i] < hi_ ? dy[i] : 0.0f;
}

}  // namespace cvtl
