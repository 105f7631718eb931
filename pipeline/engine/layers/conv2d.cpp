#include "pipeline/engine/layers/conv2d.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "pipeline/engine/layers/onednn_memory.hpp"
#include "pipeline/engine/layers/relu_kernels.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"
#include "pipeline/engine/layers/window.hpp"

namespace cvtl {

using dnnl::memory;
using Direction = Staged::Direction;

namespace {

memory::desc any_desc(const memory::dims& dims, memory::data_type type = memory::data_type::f32) {
    return {dims, type, memory::format_tag::any};
}

// auto, not direct: oneDNN 2.6 then runs backward-weights of wide 3x3 layers (256+ channels) as Winograd
// F(4x4, 3x3), 1.45x faster on VGG's [8, 512, 14, 14] with errors near 1e-6 of the double reference
// (the parity tests cover that path); every other case stays direct.
const dnnl::algorithm conv_algorithm = dnnl::algorithm::convolution_auto;

}  // namespace

// Primitives and buffers for one batch size in one mode.
struct Conv2d::Forward {
    int n;
    dnnl::convolution_forward::primitive_desc pd;
    dnnl::convolution_forward primitive;
    Staged src, weights, dst;
    memory bias;
};

// Built on the first backward() after a training forward of a new batch size.
struct Conv2d::Backward {
    int n;
    dnnl::convolution_backward_data data_primitive;
    dnnl::convolution_backward_weights weights_primitive;
    // Both primitives usually want diff_dst in one layout; then only diff_dst_for_weights is used.
    bool diff_dst_shared;
    Staged diff_dst_for_weights, diff_dst_for_data;
    // When backward wants the forward's layout, the forward's reordered src/weights are reused.
    bool src_from_forward, weights_from_forward;
    Staged src, weights_for_data;
    Staged diff_src, diff_weights;
    memory diff_bias;
    cv::Mat masked_diff_dst;  // [N, O, OH, OW]: diff_dst * (dst > 0) when the ReLU is fused
};

Conv2d::Conv2d(int in_channels, int out_channels, int kernel, int stride, int pad, bool fused_relu, int groups)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_(kernel),
      stride_(stride),
      pad_(pad),
      groups_(groups),
      fused_relu_(fused_relu) {
    check_at_least(in_channels, 1, "conv2d", "in_channels");
    check_at_least(out_channels, 1, "conv2d", "out_channels");
    check_at_least(kernel, 1, "conv2d", "kernel");
    check_at_least(stride, 1, "conv2d", "stride");
    check_at_least(pad, 0, "conv2d", "pad");
    check_at_least(groups, 1, "conv2d", "groups");
    if (in_channels % groups != 0 || out_channels % groups != 0)
        throw Error("conv2d expects groups to divide the input and output channels, found " + std::to_string(groups) +
                    " groups for " + std::to_string(in_channels) + " -> " + std::to_string(out_channels));
    weights_ = make_param("weights", {out_channels, in_channels / groups, kernel, kernel}, 0.0f, 1.0f);
    bias_ = make_param("bias", {out_channels}, 0.0f, 0.0f);
}

Conv2d::~Conv2d() = default;

memory::dims Conv2d::weight_dims() const {
    if (groups_ == 1) return {out_channels_, in_channels_, kernel_, kernel_};
    return {groups_, out_channels_ / groups_, in_channels_ / groups_, kernel_, kernel_};
}

void Conv2d::set_precision(Precision precision) {
    require_precision(precision, "conv2d");
    precision_ = precision;
    train_forward_.reset();
    eval_forward_.reset();
    backward_.reset();
}

std::vector<int> Conv2d::setup(const std::vector<int>& src_shape) {
    if (src_shape.size() != 3)
        throw Error("conv2d expects one sample's shape [C, H, W], found " + shape_string(src_shape));
    if (src_shape[0] != in_channels_)
        throw Error("conv2d expects " + std::to_string(in_channels_) + " input channels, found " +
                    std::to_string(src_shape[0]));
    if (src_shape[1] + 2 * pad_ < kernel_ || src_shape[2] + 2 * pad_ < kernel_)
        throw Error("conv2d expects a padded input of at least " + std::to_string(kernel_) + "x" +
                    std::to_string(kernel_) + ", found " + shape_string(src_shape) + " with pad " +
                    std::to_string(pad_));
    src_shape_ = src_shape;
    dst_shape_ = {out_channels_, window_output_size(src_shape[1], kernel_, stride_, pad_),
                  window_output_size(src_shape[2], kernel_, stride_, pad_)};
    train_forward_.reset();
    eval_forward_.reset();
    backward_.reset();
    return dst_shape_;
}

std::unique_ptr<Conv2d::Forward> Conv2d::make_forward(int n, bool train) const {
    const memory::dims src{n, in_channels_, src_shape_[1], src_shape_[2]};
    const memory::dims dst{n, out_channels_, dst_shape_[1], dst_shape_[2]};
    const memory::dims weights = weight_dims();
    const memory::dims bias{out_channels_};
    const memory::data_type operand = operand_type(precision_);
    const dnnl::convolution_forward::desc desc(
        train ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, conv_algorithm,
        any_desc(src, operand), any_desc(weights, operand), plain_desc(bias), any_desc(dst), {stride_, stride_},
        {pad_, pad_}, {pad_, pad_});
    dnnl::primitive_attr attr;
    if (fused_relu_) {
        dnnl::post_ops ops;
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        attr.set_post_ops(ops);
    }
    dnnl::convolution_forward::primitive_desc pd(desc, attr, onednn_engine());
    return std::unique_ptr<Forward>(new Forward{
        n, pd, dnnl::convolution_forward(pd), Staged(plain_desc(src), pd.src_desc(), Direction::to_primitive),
        Staged(plain_desc(weights), pd.weights_desc(), Direction::to_primitive),
        Staged(plain_desc(dst), pd.dst_desc(), Direction::to_user), user_memory(plain_desc(bias))});
}

std::unique_ptr<Conv2d::Backward> Conv2d::make_backward(int n) const {
    const Forward& fwd = *train_forward_;
    const memory::dims src{n, in_channels_, src_shape_[1], src_shape_[2]};
    const memory::dims dst{n, out_channels_, dst_shape_[1], dst_shape_[2]};
    const memory::dims weights = weight_dims();
    const memory::dims bias{out_channels_};
    const memory::dims strides{stride_, stride_}, padding{pad_, pad_};
    const memory::data_type operand = operand_type(precision_);

    const dnnl::convolution_backward_data::primitive_desc data_pd(
        {conv_algorithm, any_desc(src), any_desc(weights, operand), any_desc(dst, operand), strides, padding, padding},
        onednn_engine(), fwd.pd);
    const dnnl::convolution_backward_weights::primitive_desc weights_pd(
        {conv_algorithm, any_desc(src, operand), any_desc(weights), plain_desc(bias), any_desc(dst, operand), strides,
         padding, padding},
        onednn_engine(), fwd.pd);

    const bool diff_dst_shared = data_pd.diff_dst_desc() == weights_pd.diff_dst_desc();
    const bool src_from_forward = weights_pd.src_desc() == fwd.pd.src_desc();
    const bool weights_from_forward = data_pd.weights_desc() == fwd.pd.weights_desc();
    auto b = std::unique_ptr<Backward>(new Backward{
        n, dnnl::convolution_backward_data(data_pd), dnnl::convolution_backward_weights(weights_pd), diff_dst_shared,
        Staged(plain_desc(dst), weights_pd.diff_dst_desc(), Direction::to_primitive),
        diff_dst_shared ? Staged() : Staged(plain_desc(dst), data_pd.diff_dst_desc(), Direction::to_primitive),
        src_from_forward, weights_from_forward,
        src_from_forward ? Staged() : Staged(plain_desc(src), weights_pd.src_desc(), Direction::to_primitive),
        weights_from_forward ? Staged() : Staged(plain_desc(weights), data_pd.weights_desc(), Direction::to_primitive),
        Staged(plain_desc(src), data_pd.diff_src_desc(), Direction::to_user),
        Staged(plain_desc(weights), weights_pd.diff_weights_desc(), Direction::to_user), user_memory(plain_desc(bias)),
        cv::Mat()});
    if (fused_relu_) {
        const int shape[] = {n, out_channels_, dst_shape_[1], dst_shape_[2]};
        b->masked_diff_dst.create(4, shape, CV_32F);
    }
    return b;
}

void Conv2d::forward(const cv::Mat& src, cv::Mat& dst, bool train) {
    const int n = batch_size(src, src_shape_, "conv2d");
    std::unique_ptr<Forward>& plan = train ? train_forward_ : eval_forward_;
    if (!plan || plan->n != n) plan = make_forward(n, train);
    check_param(weights_, {out_channels_, in_channels_ / groups_, kernel_, kernel_}, "conv2d");
    check_param(bias_, {out_channels_}, "conv2d");
    make_output(dst, n, dst_shape_, src);

    dnnl::stream& stream = onednn_stream();
    const memory src_mem = plan->src.in(src.data);
    const memory weights_mem = plan->weights.in(weights_.value.data);
    plan->bias.set_data_handle(bias_.value.data);
    plan->primitive.execute(stream, {{DNNL_ARG_SRC, src_mem},
                                     {DNNL_ARG_WEIGHTS, weights_mem},
                                     {DNNL_ARG_BIAS, plan->bias},
                                     {DNNL_ARG_DST, plan->dst.out(dst.data)}});
    plan->dst.finish();
    stream.wait();
    if (precision_ == Precision::bf16) clear_vector_upper_state();
}

void Conv2d::backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                      bool need_diff_src) {
    const int n = batch_size(src, src_shape_, "conv2d");
    check_batch(diff_dst, n, dst_shape_, "conv2d diff_dst");
    if (fused_relu_) check_batch(dst, n, dst_shape_, "conv2d dst");
    if (!train_forward_ || train_forward_->n != n)
        throw Error("conv2d backward expects a training forward of batch " + std::to_string(n) + " first, found none");
    if (!backward_ || backward_->n != n) backward_ = make_backward(n);
    Backward& b = *backward_;
    Forward& fwd = *train_forward_;

    const float* grad_out = diff_dst.ptr<float>();
    if (fused_relu_) {
        relu_backward(dst.ptr<float>(), grad_out, b.masked_diff_dst.ptr<float>(),
                      static_cast<std::ptrdiff_t>(diff_dst.total()));
        grad_out = b.masked_diff_dst.ptr<float>();
    }

    dnnl::stream& stream = onednn_stream();
    const memory diff_dst_w = b.diff_dst_for_weights.in(grad_out);
    const memory src_mem = b.src_from_forward ? fwd.src.again(src.data) : b.src.in(src.data);
    b.diff_bias.set_data_handle(bias_.grad.data);
    b.weights_primitive.execute(stream, {{DNNL_ARG_SRC, src_mem},
                                         {DNNL_ARG_DIFF_DST, diff_dst_w},
                                         {DNNL_ARG_DIFF_WEIGHTS, b.diff_weights.out(weights_.grad.data)},
                                         {DNNL_ARG_DIFF_BIAS, b.diff_bias}});
    b.diff_weights.finish();

    if (need_diff_src) {
        make_output(diff_src, n, src_shape_, diff_dst);
        const memory diff_dst_d = b.diff_dst_shared ? diff_dst_w : b.diff_dst_for_data.in(grad_out);
        const memory weights_mem = b.weights_from_forward ? fwd.weights.again(weights_.value.data)
                                                          : b.weights_for_data.in(weights_.value.data);
        b.data_primitive.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst_d},
                                          {DNNL_ARG_WEIGHTS, weights_mem},
                                          {DNNL_ARG_DIFF_SRC, b.diff_src.out(diff_src.data)}});
        b.diff_src.finish();
    }
    stream.wait();
    if (precision_ == Precision::bf16) clear_vector_upper_state();
}

}  // namespace cvtl
