#include "pipeline/engine/layers/relu.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/relu_kernels.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"

namespace cvtl {

std::vector<int> ReLU::setup(const std::vector<int>& src_shape) {
    if (src_shape.empty() || element_count(src_shape) < 1)
        throw Error("relu expects a non-empty sample shape, found " + shape_string(src_shape));
    shape_ = src_shape;
    return shape_;
}

void ReLU::forward(const cv::Mat& src, cv::Mat& dst, bool) {
    const int n = batch_size(src, shape_, "relu");
    make_output(dst, n, shape_, src);
    relu_forward(src.ptr<float>(), dst.ptr<float>(), static_cast<std::ptrdiff_t>(src.total()));
}

void ReLU::backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                    bool need_diff_src) {
    const int n = batch_size(src, shape_, "relu");
    check_batch(dst, n, shape_, "relu dst");
    check_batch(diff_dst, n, shape_, "relu diff_dst");
    if (!need_diff_src) return;
    make_output(diff_src, n, shape_, diff_dst);
    relu_backward(dst.ptr<float>(), diff_dst.ptr<float>(), diff_src.ptr<float>(),
                  static_cast<std::ptrdiff_t>(diff_dst.total()));
}

}  // namespace cvtl
