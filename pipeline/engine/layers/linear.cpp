#include "pipeline/engine/layers/linear.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "pipeline/engine/layers/onednn_memory.hpp"
#include "pipeline/engine/layers/relu_kernels.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"

namespace cvtl {

using dnnl::memory;
using Direction = Staged::Direction;

// Forward is a matmul: src [N, I] x weights viewed as [I, O] ("ba": the stored [O, I] rows read
// transposed). oneDNN's inner product ran this shape 6x slower (gemm with a batch of 16 and 25088 inputs
// used one thread); its backward kernels are as fast as matmul's and stay.
struct Linear::Forward {
    int n;
    dnnl::matmul primitive;
    Staged src, weights;  // bf16: converted copies (plain layouts), reused by backward
    memory bias, dst;
};

struct Linear::Backward {
    int n;
    dnnl::inner_product_backward_data data_primitive;
    dnnl::inner_product_backward_weights weights_primitive;
    Staged diff_dst;  // bf16: converted once, read by both primitives
    memory src, weights, diff_src, diff_weights, diff_bias;
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

void Linear::set_precision(Precision precision) {
    require_precision(precision, "linear");
    precision_ = precision;
    forward_.reset();
    backward_.reset();
    trained_n_ = 0;
}

std::vector<int> Linear::setup(const std::vector<int>& src_shape) {
    if (src_shape.size() != 1 && src_shape.size() != 3)
        throw Error("linear expects one sample's shape [D] or [C, H, W], found " + shape_string(src_shape));
    if (element_count(src_shape) != in_features_)
        throw Error("linear expects " + std::to_string(in_features_) + " input features, found " +
                    std::to_string(element_count(src_shape)) + " in " + shape_string(src_shape));
    src_shape_ = src_shape;
    forward_.reset();
    backward_.reset();
    trained_n_ = 0;
    return {out_features_};
}

// f32: the plain tensors themselves. bf16: the operands (src, weights, diff_dst) converted to bf16 in the
// same plain layouts (a conversion reads the f32 weights once; a blocked layout measured 3x slower to make).
memory::desc Linear::operand_desc(const memory::dims& dims, memory::format_tag layout) const {
    return {dims, operand_type(precision_), layout};
}

std::unique_ptr<Linear::Forward> Linear::make_forward(int n) const {
    using tag = memory::format_tag;
    const memory::dims src{n, in_features_}, weights{in_features_, out_features_};
    const memory::desc user_weights(weights, memory::data_type::f32, tag::ba);
    const memory::desc bias({1, out_features_}, memory::data_type::f32, tag::ab);
    const memory::desc dst = plain_desc({n, out_features_});
    dnnl::primitive_attr attr;
    if (fused_relu_) {
        dnnl::post_ops ops;
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        attr.set_post_ops(ops);
    }
    const dnnl::matmul::primitive_desc pd({operand_desc(src, tag::ab), operand_desc(weights, tag::ba), bias, dst}, attr,
                                          onednn_engine());
    return std::unique_ptr<Forward>(new Forward{
        n, dnnl::matmul(pd), Staged(plain_desc(src), pd.src_desc(), Direction::to_primitive),
        Staged(user_weights, pd.weights_desc(), Direction::to_primitive), user_memory(bias), user_memory(dst)});
}

std::unique_ptr<Linear::Backward> Linear::make_backward(int n) const {
    using tag = memory::format_tag;
    const memory::dims src{n, in_features_}, dst{n, out_features_}, weights{out_features_, in_features_};
    const memory::desc bias = plain_desc({out_features_});
    // The backward primitives want a forward descriptor as a hint; only its shapes and types matter here.
    const dnnl::inner_product_forward::primitive_desc hint(
        {dnnl::prop_kind::forward_training, operand_desc(src, tag::ab), operand_desc(weights, tag::ab), bias,
         plain_desc(dst)},
        onednn_engine());
    const dnnl::inner_product_backward_data::primitive_desc data_pd(
        {plain_desc(src), operand_desc(weights, tag::ab), operand_desc(dst, tag::ab)}, onednn_engine(), hint);
    const dnnl::inner_product_backward_weights::primitive_desc weights_pd(
        {operand_desc(src, tag::ab), plain_desc(weights), bias, operand_desc(dst, tag::ab)}, onednn_engine(), hint);
    auto b = std::unique_ptr<Backward>(
        new Backward{n, dnnl::inner_product_backward_data(data_pd), dnnl::inner_product_backward_weights(weights_pd),
                     Staged(plain_desc(dst), operand_desc(dst, tag::ab), Direction::to_primitive),
                     user_memory(operand_desc(src, tag::ab)), user_memory(operand_desc(weights, tag::ab)),
                     user_memory(plain_desc(src)), user_memory(plain_desc(weights)), user_memory(bias), cv::Mat()});
    if (fused_relu_) b->masked_diff_dst.create(n, out_features_, CV_32F);
    return b;
}

void Linear::forward(const cv::Mat& src, cv::Mat& dst, bool train) {
    const int n = batch_size(src, src_shape_, "linear");
    // Matmul has no training mode: one plan serves both; train only decides what backward may reuse.
    if (!forward_ || forward_->n != n) forward_ = make_forward(n);
    check_param(weights_, {out_features_, in_features_}, "linear");
    check_param(bias_, {out_features_}, "linear");
    make_output(dst, n, {out_features_}, src);

    Forward& f = *forward_;
    dnnl::stream& stream = onednn_stream();
    const memory src_mem = f.src.in(src.data);
    const memory weights_mem = f.weights.in(weights_.value.data);
    f.bias.set_data_handle(bias_.value.data);
    f.dst.set_data_handle(dst.data);
    f.primitive.execute(
        stream,
        {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, weights_mem}, {DNNL_ARG_BIAS, f.bias}, {DNNL_ARG_DST, f.dst}});
    stream.wait();
    if (precision_ == Precision::bf16) clear_vector_upper_state();
    trained_n_ = train ? n : 0;
}

void Linear::backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                      bool need_diff_src) {
    const int n = batch_size(src, src_shape_, "linear");
    check_batch(diff_dst, n, {out_features_}, "linear diff_dst");
    if (fused_relu_) check_batch(dst, n, {out_features_}, "linear dst");
    if (trained_n_ != n)
        throw Error("linear backward expects a training forward of batch " + std::to_string(n) + " first, found none");
    if (!backward_ || backward_->n != n) backward_ = make_backward(n);
    Backward& b = *backward_;
    Forward& f = *forward_;

    const float* grad_out = diff_dst.ptr<float>();
    if (fused_relu_) {
        relu_backward(dst.ptr<float>(), grad_out, b.masked_diff_dst.ptr<float>(),
                      static_cast<std::ptrdiff_t>(diff_dst.total()));
        grad_out = b.masked_diff_dst.ptr<float>();
    }

    // The forward's operands, as it left them: the same bytes in the backward primitives' descriptors
    // (weights [I, O] "ba" is [O, I] "ab").
    dnnl::stream& stream = onednn_stream();
    const memory diff_dst_mem = b.diff_dst.in(grad_out);
    b.src.set_data_handle(f.src.again(src.data).get_data_handle());
    b.diff_weights.set_data_handle(weights_.grad.data);
    b.diff_bias.set_data_handle(bias_.grad.data);
    b.weights_primitive.execute(stream, {{DNNL_ARG_SRC, b.src},
                                         {DNNL_ARG_DIFF_DST, diff_dst_mem},
                                         {DNNL_ARG_DIFF_WEIGHTS, b.diff_weights},
                                         {DNNL_ARG_DIFF_BIAS, b.diff_bias}});
    if (need_diff_src) {
        make_output(diff_src, n, src_shape_, diff_dst);
        b.diff_src.set_data_handle(diff_src.data);
        b.weights.set_data_handle(f.weights.again(weights_.value.data).get_data_handle());
        b.data_primitive.execute(
            stream,
            {{DNNL_ARG_DIFF_DST, diff_dst_mem}, {DNNL_ARG_WEIGHTS, b.weights}, {DNNL_ARG_DIFF_SRC, b.diff_src}});
    }
    stream.wait();
    if (precision_ == Precision::bf16) clear_vector_upper_state();
}

}  // namespace cvtl
