#include "pipeline/engine/layers/flatten.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"

namespace cvtl {

std::vector<int> Flatten::setup(const std::vector<int>& src_shape) {
    if (src_shape.empty() || element_count(src_shape) < 1)
        throw Error("flatten expects a non-empty sample shape, found " + shape_string(src_shape));
    src_shape_ = src_shape;
    features_ = element_count(src_shape);
    return {features_};
}

void Flatten::forward(const cv::Mat& src, cv::Mat& dst, bool) {
    const int n = batch_size(src, src_shape_, "flatten");
    const int shape[] = {n, features_};
    dst = src.reshape(1, 2, shape);
}

void Flatten::backward(const cv::Mat& src, const cv::Mat&, const cv::Mat& diff_dst, cv::Mat& diff_src,
                       bool need_diff_src) {
    const int n = batch_size(src, src_shape_, "flatten");
    check_batch(diff_dst, n, {features_}, "flatten diff_dst");
    if (!need_diff_src) return;
    diff_src = diff_dst.reshape(1, src.dims, src.size.p);
}

}  // namespace cvtl
