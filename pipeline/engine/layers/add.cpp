#include "pipeline/engine/layers/add.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/relu_kernels.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"

namespace cvtl {

std::vector<int> Add::setup(const std::vector<int>& src_shape) {
    if (src_shape.empty() || element_count(src_shape) < 1)
        throw Error("add expects a non-empty sample shape, found " + shape_string(src_shape));
    shape_ = src_shape;
    return shape_;
}

void Add::forward(const cv::Mat&, cv::Mat&, bool) { throw Error("add reads two inputs, given one"); }

void Add::forward_inputs(const std::vector<const cv::Mat*>& srcs, cv::Mat& dst, bool) {
    if (srcs.size() != 2) throw Error("add reads two inputs, given " + std::to_string(srcs.size()));
    const int n = batch_size(*srcs[0], shape_, "add");
    check_batch(*srcs[1], n, shape_, "add's second input");
    make_output(dst, n, shape_, *srcs[0]);  // never written over either input
    make_output(dst, n, shape_, *srcs[1]);
    cv::add(*srcs[0], *srcs[1], dst);
    if (fused_relu_) relu_forward(dst.ptr<float>(), dst.ptr<float>(), static_cast<std::ptrdiff_t>(dst.total()));
}

void Add::backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                   bool need_diff_src) {
    const int n = batch_size(src, shape_, "add");
    check_batch(diff_dst, n, shape_, "add diff_dst");
    if (!need_diff_src) return;
    make_output(diff_src, n, shape_, diff_dst);
    if (fused_relu_) {
        check_batch(dst, n, shape_, "add dst");
        relu_backward(dst.ptr<float>(), diff_dst.ptr<float>(), diff_src.ptr<float>(),
                      static_cast<std::ptrdiff_t>(diff_dst.total()));
    } else {
        diff_dst.copyTo(diff_src);
    }
}

}  // namespace cvtl
