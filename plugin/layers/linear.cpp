#include "plugin/layers/linear.hpp"

#include "plugin/error.hpp"
#include "plugin/layers/onednn_context.hpp"
#include "plugin/layers/onednn_memory.hpp"
#include "plugin/layers/relu_kernels.hpp"
#include "plugin/layers/tensor_shape.hpp"

namespace cvtl {

using dnnl::memory;

struct Linear::Forward {
    int n;
    dnnl::inner_product_forward::primitive_desc pd;
    dnnl::inner_product_forward primitive;
    memory src, weights, bias, dst;
};

struct Linear::Backward {
    int n;
    dnnl::inner_product_backward_data data_primitive;
    dnnl::inner_product_backward_weights weights_primitive;
    memory src, weights, diff_dst, diff_src, diff_weights, diff_bias;
    cv::Mat masked_diff_dst;  // [N, out_features]: diff_dst * (dst > 0) when the ReLU is fused
};

Linear::Linear(int in_features, int out_features, bool fused_relu)
    : in_features_(in_features), out_features_(out_features), fused_relu_(fused_relu) {
    check_at_least(in_features, 1, "linear", "in_features");
    check_at_least(out_features, 1, "linear", "out_features");
    weights_ = make_param("weights", {out_features, in_features}, 0.0f, 1.0f);
    bias_ = make_param("bias", {out_features}, 0.0f, 0.0f);
}

Linear::~Linear() = default;

std::vector<int> Linear::setup(const std::vector<int>& src_shape) {
    if (src_shape.size() != 1 && src_shape.size() != 3)
        throw Error("linear expects one sample's shape [D] or [C, H, W], found " + shape_string(src_shape));
    if (element_count(src_shape) != in_features_)
        throw Error("linear expects " + std::to_string(in_features_) + " input features, found " +
                    std::to_string(element_count(src_shape)) + " in " + shape_string(src_shape));
    src_shape_ = src_shape;
    train_forward_.reset();
    eval_forward_.reset();
    backward_.reset();
    return {out_features_};
}

std::unique_ptr<Linear::Forward> Linear::make_forward(int n, bool train) const {
    const memory::desc src = plain_desc({n, in_features_}), dst = plain_desc({n, out_features_});
    const memory::desc weights = plain_desc({out_features_, in_features_}), bias = plain_desc({out_features_});
    dnnl::primitive_attr attr;
    if (fused_relu_) {
        dnnl::post_ops ops;
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        attr.set_post_ops(ops);
    }
    const dnnl::inner_product_forward::primitive_desc pd(
        {train ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, src, weights, bias, dst},
        attr, onednn_engine());
    return std::unique_ptr<Forward>(new Forward{n, pd, dnnl::inner_product_forward(pd), user_memory(src),
                                                user_memory(weights), user_memory(bias), user_memory(dst)});
}

std::unique_ptr<Linear::Backward> Linear::make_backward(int n) const {
    const memory::desc src = plain_desc({n, in_features_}), dst = plain_desc({n, out_features_});
    const memory::desc weights = plain_desc({out_features_, in_features_}), bias = plain_desc({out_features_});
    const dnnl::inner_product_forward::primitive_desc& fwd = train_forward_->pd;
    const dnnl::inner_product_backward_data::primitive_desc data_pd({src, weights, dst}, onednn_engine(), fwd);
    const dnnl::inner_product_backward_weights::primitive_desc weights_pd({src, weights, bias, dst},
                                                                          onednn_engine(), fwd);
    auto b = std::unique_ptr<Backward>(new Backward{
        n, dnnl::inner_product_backward_data(data_pd), dnnl::inner_product_backward_weights(weights_pd),
        user_memory(src), user_memory(weights), user_memory(dst), user_memory(src), user_memory(weights),
        user_memory(bias), cv::Mat()});
    if (fused_relu_) b->masked_diff_dst.create(n, out_features_, CV_32F);
    return b;
}

void Linear::forward(const cv::Mat& src, cv::Mat& dst, bool train) {
    const int n = batch_size(src, src_shape_, "linear");
    std::unique_ptr<Forward>& plan = train ? train_forward_ : eval_forward_;
    if (!plan || plan->n != n) plan = make_forward(n, train);
    check_param(weights_, {out_features_, in_features_}, "linear");
    check_param(bias_, {out_features_}, "linear");
    make_output(dst, n, {out_features_}, src);

    plan->src.set_data_handle(src.data);
    plan->weights.set_data_handle(weights_.value.data);
    plan->bias.set_data_handle(bias_.value.data);
    plan->dst.set_data_handle(dst.data);
    dnnl::stream& stream = onednn_stream();
    plan->primitive.execute(stream, {{DNNL_ARG_SRC, plan->src},
                                     {DNNL_ARG_WEIGHTS, plan->weights},
                                     {DNNL_ARG_BIAS, plan->bias},
                                     {DNNL_ARG_DST, plan->dst}});
    stream.wait();
}

void Linear::backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                      bool need_diff_src) {
    const int n = batch_size(src, src_shape_, "linear");
    check_batch(diff_dst, n, {out_features_}, "linear diff_dst");
    if (fused_relu_) check_batch(dst, n, {out_features_}, "linear dst");
    if (!train_forward_ || train_forward_->n != n)
        throw Error("linear backward expects a training forward of batch " + std::to_string(n) + " first, found none");
    if (!backward_ || backward_->n != n) backward_ = make_backward(n);
    Backward& b = *backward_;

    const float* grad_out = diff_dst.ptr<float>();
    if (fused_relu_) {
        relu_backward(dst.ptr<float>(), grad_out, b.masked_diff_dst.ptr<float>(),
                      static_cast<std::ptrdiff_t>(diff_dst.total()));
        grad_out = b.masked_diff_dst.ptr<float>();
    }
    b.diff_dst.set_data_handle(const_cast<float*>(grad_out));
    b.src.set_data_handle(src.data);
    b.diff_weights.set_data_handle(weights_.grad.data);
    b.diff_bias.set_data_handle(bias_.grad.data);
    dnnl::stream& stream = onednn_stream();
    b.weights_primitive.execute(stream, {{DNNL_ARG_SRC, b.src},
                               {DNNL_ARG_DIFF_DST, b.diff_dst},
                               {DNNL_ARG_DIFF_WEIGHTS, b.diff_weights},
                               {DNNL_ARG_DIFF_BIAS, b.diff_bias}});
    if (need_diff_src) {
        make_output(diff_src, n, src_shape_, diff_dst);
        b.diff_src.set_data_handle(diff_src.data);
        b.weights.set_data_handle(weights_.value.data);
        b.data_primitive.execute(stream, {{DNNL_ARG_DIFF_DST, b.diff_dst},
                                {DNNL_ARG_WEIGHTS, b.weights},
                                {DNNL_ARG_DIFF_SRC, b.diff_src}});
    }
    stream.wait();
}

}  // namespace cvtl
