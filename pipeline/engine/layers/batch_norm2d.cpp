#include "pipeline/engine/layers/batch_norm2d.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "pipeline/engine/layers/onednn_memory.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"

namespace cvtl {

using dnnl::memory;

namespace {

const dnnl::normalization_flags scale_and_shift =
    dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;

// The running statistics are public buffers a checkpoint may replace: they must still hold C floats.
void check_running(const cv::Mat& m, int channels, const std::string& name) {
    if (m.type() != CV_32F || !m.isContinuous() || m.total() != static_cast<size_t>(channels))
        throw Error("batch_norm expects " + name + " as " + std::to_string(channels) + " continuous floats, found " +
                    shape_string(mat_shape(m)) + (m.type() == CV_32F ? "" : " of another type"));
}

}  // namespace

struct BatchNorm2d::Forward {
    int n;
    dnnl::batch_normalization_forward::primitive_desc pd;
    dnnl::batch_normalization_forward primitive;
    memory src, dst, scale, shift, mean, variance;  // mean/variance: outputs in training, inputs in eval
};

struct BatchNorm2d::Backward {
    int n;
    dnnl::batch_normalization_backward primitive;
    memory src, mean, variance, scale, shift, diff_dst, diff_src, diff_scale,
        diff_shift;           // shift: unread, but oneDNN requires it
    cv::Mat unused_diff_src;  // [N, C, H, W]: oneDNN always writes diff_src, even when the caller needs none
};

BatchNorm2d::BatchNorm2d(int channels, float eps, float momentum)
    : channels_(channels), eps_(eps), momentum_(momentum) {
    check_at_least(channels, 1, "batch_norm", "channels");
    if (!(eps > 0.0f)) throw Error("batch_norm expects eps > 0, found " + std::to_string(eps));
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        throw Error("batch_norm expects momentum in [0, 1], found " + std::to_string(momentum));
    gamma_ = make_param("gamma", {channels}, 1.0f, 0.0f);
    beta_ = make_param("beta", {channels}, 0.0f, 0.0f);
    running_mean_ = cv::Mat(1, &channels, CV_32F, cv::Scalar(0.0f));
    running_var_ = cv::Mat(1, &channels, CV_32F, cv::Scalar(1.0f));
    batch_mean_ = cv::Mat::zeros(1, &channels, CV_32F);
    batch_var_ = cv::Mat::zeros(1, &channels, CV_32F);
}

BatchNorm2d::~BatchNorm2d() = default;

std::vector<int> BatchNorm2d::setup(const std::vector<int>& src_shape) {
    if (src_shape.size() != 3)
        throw Error("batch_norm expects one sample's shape [C, H, W], found " + shape_string(src_shape));
    if (src_shape[0] != channels_)
        throw Error("batch_norm expects " + std::to_string(channels_) + " channels, found " +
                    std::to_string(src_shape[0]));
    shape_ = src_shape;
    train_forward_.reset();
    eval_forward_.reset();
    backward_.reset();
    return shape_;
}

// With frozen statistics a training forward is still forward_training (backward needs its primitive
// descriptor as a hint) but reads the running statistics as given (use_global_stats).
std::unique_ptr<BatchNorm2d::Forward> BatchNorm2d::make_forward(int n, bool train) const {
    const memory::desc data = plain_desc({n, shape_[0], shape_[1], shape_[2]});
    const memory::desc channel = plain_desc({channels_});
    const auto flags =
        batch_statistics(train) ? scale_and_shift : scale_and_shift | dnnl::normalization_flags::use_global_stats;
    const auto kind = train ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const dnnl::batch_normalization_forward::primitive_desc pd(
        dnnl::batch_normalization_forward::desc(kind, data, eps_, flags), onednn_engine());
    return std::unique_ptr<Forward>(new Forward{n, pd, dnnl::batch_normalization_forward(pd), user_memory(data),
                                                user_memory(data), user_memory(channel), user_memory(channel),
                                                user_memory(channel), user_memory(channel)});
}

std::unique_ptr<BatchNorm2d::Backward> BatchNorm2d::make_backward(int n) const {
    const memory::desc data = plain_desc({n, shape_[0], shape_[1], shape_[2]});
    const memory::desc channel = plain_desc({channels_});
    const auto flags = frozen_ ? scale_and_shift | dnnl::normalization_flags::use_global_stats : scale_and_shift;
    const dnnl::batch_normalization_backward::primitive_desc pd({dnnl::prop_kind::backward, data, data, eps_, flags},
                                                                onednn_engine(), train_forward_->pd);
    const cv::Mat& mean = frozen_ ? running_mean_ : batch_mean_;
    const cv::Mat& var = frozen_ ? running_var_ : batch_var_;
    return std::unique_ptr<Backward>(
        new Backward{n, dnnl::batch_normalization_backward(pd), user_memory(data), user_memory(channel, mean.data),
                     user_memory(channel, var.data), user_memory(channel), user_memory(channel), user_memory(data),
                     user_memory(data), user_memory(channel), user_memory(channel), cv::Mat()});
}

void BatchNorm2d::set_frozen_statistics(bool frozen) {
    if (frozen == frozen_) return;
    frozen_ = frozen;
    train_forward_.reset();  // their flags and statistics follow the mode
    backward_.reset();
}

void BatchNorm2d::forward(const cv::Mat& src, cv::Mat& dst, bool train) {
    const int n = batch_size(src, shape_, "batch_norm");
    const int values_per_channel = n * shape_[1] * shape_[2];
    if (batch_statistics(train) && values_per_channel < 2)
        throw Error("batch_norm expects more than 1 value per channel in training, found " +
                    std::to_string(values_per_channel) + " in " + shape_string(mat_shape(src)));
    std::unique_ptr<Forward>& plan = train ? train_forward_ : eval_forward_;
    if (!plan || plan->n != n) plan = make_forward(n, train);
    check_param(gamma_, {channels_}, "batch_norm");
    check_param(beta_, {channels_}, "batch_norm");
    check_running(running_mean_, channels_, "running_mean");
    check_running(running_var_, channels_, "running_var");
    make_output(dst, n, shape_, src);

    plan->src.set_data_handle(src.data);
    plan->dst.set_data_handle(dst.data);
    plan->scale.set_data_handle(gamma_.value.data);
    plan->shift.set_data_handle(beta_.value.data);
    plan->mean.set_data_handle(batch_statistics(train) ? batch_mean_.data : running_mean_.data);
    plan->variance.set_data_handle(batch_statistics(train) ? batch_var_.data : running_var_.data);
    dnnl::stream& stream = onednn_stream();
    plan->primitive.execute(stream, {{DNNL_ARG_SRC, plan->src},
                                     {DNNL_ARG_DST, plan->dst},
                                     {DNNL_ARG_SCALE, plan->scale},
                                     {DNNL_ARG_SHIFT, plan->shift},
                                     {DNNL_ARG_MEAN, plan->mean},
                                     {DNNL_ARG_VARIANCE, plan->variance}});
    stream.wait();
    if (batch_statistics(train)) update_running_stats(values_per_channel);
}

void BatchNorm2d::update_running_stats(int values_per_channel) {
    const float unbias = static_cast<float>(values_per_channel) / static_cast<float>(values_per_channel - 1);
    float* mean = running_mean_.ptr<float>();
    float* var = running_var_.ptr<float>();
    const float* batch_mean = batch_mean_.ptr<float>();
    const float* batch_var = batch_var_.ptr<float>();
    for (int c = 0; c < channels_; ++c) {
        mean[c] = (1.0f - momentum_) * mean[c] + momentum_ * batch_mean[c];
        var[c] = (1.0f - momentum_) * var[c] + momentum_ * batch_var[c] * unbias;
    }
}

void BatchNorm2d::backward(const cv::Mat& src, const cv::Mat&, const cv::Mat& diff_dst, cv::Mat& diff_src,
                           bool need_diff_src) {
    const int n = batch_size(src, shape_, "batch_norm");
    check_batch(diff_dst, n, shape_, "batch_norm diff_dst");
    if (!train_forward_ || train_forward_->n != n)
        throw Error("batch_norm backward expects a training forward of batch " + std::to_string(n) +
                    " first, found none");
    if (!backward_ || backward_->n != n) backward_ = make_backward(n);
    Backward& b = *backward_;
    cv::Mat& diff_src_out = need_diff_src ? diff_src : b.unused_diff_src;
    make_output(diff_src_out, n, shape_, diff_dst);

    b.src.set_data_handle(src.data);
    // Set each time: a checkpoint may replace the running statistics' matrices.
    b.mean.set_data_handle(frozen_ ? running_mean_.data : batch_mean_.data);
    b.variance.set_data_handle(frozen_ ? running_var_.data : batch_var_.data);
    b.scale.set_data_handle(gamma_.value.data);
    b.shift.set_data_handle(beta_.value.data);
    b.diff_dst.set_data_handle(diff_dst.data);
    b.diff_src.set_data_handle(diff_src_out.data);
    b.diff_scale.set_data_handle(gamma_.grad.data);
    b.diff_shift.set_data_handle(beta_.grad.data);
    dnnl::stream& stream = onednn_stream();
    b.primitive.execute(stream, {{DNNL_ARG_SRC, b.src},
                                 {DNNL_ARG_MEAN, b.mean},
                                 {DNNL_ARG_VARIANCE, b.variance},
                                 {DNNL_ARG_SCALE, b.scale},
                                 {DNNL_ARG_SHIFT, b.shift},
                                 {DNNL_ARG_DIFF_DST, b.diff_dst},
                                 {DNNL_ARG_DIFF_SRC, b.diff_src},
                                 {DNNL_ARG_DIFF_SCALE, b.diff_scale},
                                 {DNNL_ARG_DIFF_SHIFT, b.diff_shift}});
    stream.wait();
}

}  // namespace cvtl
