#include "pipeline/engine/layers/pool2d.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "pipeline/engine/layers/onednn_memory.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"
#include "pipeline/engine/layers/window.hpp"

#include <algorithm>
#include <unordered_map>

namespace cvtl {

using dnnl::memory;

namespace {}  // namespace

struct Pool2d::Forward {
    int n;
    dnnl::algorithm algorithm;
    memory::dims padding_r;
    dnnl::pooling_forward::primitive_desc pd;
    dnnl::pooling_forward primitive;
    memory src, dst;
    memory workspace;  // max pooling in training: where each window's maximum was, for backward
};

struct Pool2d::Backward {
    int n;
    dnnl::pooling_backward primitive;
    memory diff_dst, diff_src;
};

Pool2d::Pool2d(Kind kind, int kernel, int stride, int pad, bool ceil_mode)
    : kind_(kind), kernel_(kernel), stride_(stride), pad_(pad), ceil_mode_(ceil_mode) {
    const std::string layer = kind == Kind::max ? "max_pool" : "avg_pool";
    check_at_least(kernel, 1, layer, "kernel");
    check_at_least(stride, 1, layer, "stride");
    check_at_least(pad, 0, layer, "pad");
    // As in PyTorch: a larger pad would allow windows made only of padding.
    if (2 * pad > kernel)
        throw Error(layer + " expects pad <= kernel/2 (" + std::to_string(kernel / 2) + "), found " +
                    std::to_string(pad));
}

Pool2d::~Pool2d() = default;

std::vector<int> Pool2d::setup(const std::vector<int>& src_shape) {
    if (src_shape.size() != 3)
        throw Error(type() + " expects one sample's shape [C, H, W], found " + shape_string(src_shape));
    if (src_shape[1] + 2 * pad_ < kernel_ || src_shape[2] + 2 * pad_ < kernel_)
        throw Error(type() + " expects an output of at least 1x1, found input " + shape_string(src_shape) +
                    " smaller than kernel " + std::to_string(kernel_) + " with pad " + std::to_string(pad_));
    src_shape_ = src_shape;
    dst_shape_ = {src_shape[0], window_output_size(src_shape[1], kernel_, stride_, pad_, ceil_mode_),
                  window_output_size(src_shape[2], kernel_, stride_, pad_, ceil_mode_)};
    train_forward_.reset();
    eval_forward_.reset();
    backward_.reset();
    return dst_shape_;
}

std::unique_ptr<Pool2d::Forward> Pool2d::make_forward(int n, bool train) const {
    const dnnl::algorithm algorithm = kind_ == Kind::max               ? dnnl::algorithm::pooling_max
                                      : kind_ == Kind::avg_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                                                       : dnnl::algorithm::pooling_avg_exclude_padding;
    const memory::desc src = plain_desc({n, src_shape_[0], src_shape_[1], src_shape_[2]});
    const memory::desc dst = plain_desc({n, dst_shape_[0], dst_shape_[1], dst_shape_[2]});
    const memory::dims padding_r{window_right_padding(src_shape_[1], dst_shape_[1], kernel_, stride_, pad_),
                                 window_right_padding(src_shape_[2], dst_shape_[2], kernel_, stride_, pad_)};
    const dnnl::pooling_forward::primitive_desc pd(
        {train ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
         algorithm,
         src,
         dst,
         {stride_, stride_},
         {kernel_, kernel_},
         {pad_, pad_},
         padding_r},
        onednn_engine());
    const bool keeps_workspace = train && kind_ == Kind::max;
    return std::unique_ptr<Forward>(
        new Forward{n, algorithm, padding_r, pd, dnnl::pooling_forward(pd), user_memory(src), user_memory(dst),
                    keeps_workspace ? memory(pd.workspace_desc(), onednn_engine()) : memory()});
}

std::unique_ptr<Pool2d::Backward> Pool2d::make_backward(int n) const {
    const Forward& fwd = *train_forward_;
    const memory::desc diff_src = plain_desc({n, src_shape_[0], src_shape_[1], src_shape_[2]});
    const memory::desc diff_dst = plain_desc({n, dst_shape_[0], dst_shape_[1], dst_shape_[2]});
    const dnnl::pooling_backward::primitive_desc pd(
        {fwd.algorithm, diff_src, diff_dst, {stride_, stride_}, {kernel_, kernel_}, {pad_, pad_}, fwd.padding_r},
        onednn_engine(), fwd.pd);
    return std::unique_ptr<Backward>(
        new Backward{n, dnnl::pooling_backward(pd), user_memory(diff_dst), user_memory(diff_src)});
}

void Pool2d::forward(const cv::Mat& src, cv::Mat& dst, bool train) {
    const int n = batch_size(src, src_shape_, type());
    std::unique_ptr<Forward>& plan = train ? train_forward_ : eval_forward_;
    if (!plan || plan->n != n) plan = make_forward(n, train);
    make_output(dst, n, dst_shape_, src);

    plan->src.set_data_handle(src.data);
    plan->dst.set_data_handle(dst.data);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, plan->src}, {DNNL_ARG_DST, plan->dst}};
    if (plan->workspace) args.emplace(DNNL_ARG_WORKSPACE, plan->workspace);
    dnnl::stream& stream = onednn_stream();
    plan->primitive.execute(stream, args);
    stream.wait();
}

void Pool2d::backward(const cv::Mat& src, const cv::Mat&, const cv::Mat& diff_dst, cv::Mat& diff_src,
                      bool need_diff_src) {
    const int n = batch_size(src, src_shape_, type());
    check_batch(diff_dst, n, dst_shape_, type() + " diff_dst");
    if (!need_diff_src) return;
    if (!train_forward_ || train_forward_->n != n)
        throw Error(type() + " backward expects a training forward of batch " + std::to_string(n) +
                    " first, found none");
    if (!backward_ || backward_->n != n) backward_ = make_backward(n);
    make_output(diff_src, n, src_shape_, diff_dst);

    backward_->diff_dst.set_data_handle(diff_dst.data);
    backward_->diff_src.set_data_handle(diff_src.data);
    std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, backward_->diff_dst},
                                         {DNNL_ARG_DIFF_SRC, backward_->diff_src}};
    if (train_forward_->workspace) args.emplace(DNNL_ARG_WORKSPACE, train_forward_->workspace);
    dnnl::stream& stream = onednn_stream();
    backward_->primitive.execute(stream, args);
    stream.wait();
}

}  // namespace cvtl
