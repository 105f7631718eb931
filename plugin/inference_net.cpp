#include "plugin/inference_net.hpp"

#include "plugin/error.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "pipeline/engine/layers/window.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <cmath>
#include <cstring>
#include <unordered_map>

namespace cvtl {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

memory::dims dims_of(int n, const std::vector<int>& sample) {
    memory::dims d{n};
    for (int v : sample) d.push_back(v);
    return d;
}

tag plain_tag(size_t rank) { return rank == 4 ? tag::nchw : rank == 2 ? tag::nc : tag::ncw; }

// A layer's weights after folding the batch norm that follows it (inference: y = gamma (x - mean) / sqrt(var + eps) + beta).
struct FoldedConv {
    cv::Mat weights;  // [O, I, k, k]
    cv::Mat bias;     // [O]
};

FoldedConv fold(const WeightMap& w, const std::string& conv, const std::string* bn, float eps) {
    FoldedConv f{w.at(conv + ".weights").clone(), w.at(conv + ".bias").clone()};
    if (!bn) return f;
    const cv::Mat& gamma = w.at(*bn + ".gamma");
    const cv::Mat& beta = w.at(*bn + ".beta");
    const cv::Mat& mean = w.at(*bn + ".running_mean");
    const cv::Mat& var = w.at(*bn + ".running_var");
    const size_t out = f.bias.total(), per = f.weights.total() / out;
    for (size_t o = 0; o < out; ++o) {
        const float s = gamma.ptr<float>()[o] / std::sqrt(var.ptr<float>()[o] + eps);
        float* row = f.weights.ptr<float>() + o * per;
        for (size_t i = 0; i < per; ++i) row[i] *= s;
        f.bias.ptr<float>()[o] = (f.bias.ptr<float>()[o] - mean.ptr<float>()[o]) * s + beta.ptr<float>()[o];
    }
    return f;
}

}  // namespace

struct InferenceNet::Plan {
    int n = 0;
    struct Step {
        dnnl::primitive primitive;
        std::unordered_map<int, memory> args;
    };
    std::vector<Step> steps;
    memory input;                    // plain f32 user memory (handle set per call)
    std::vector<memory> after;       // per spec layer: the activation after it (blocked)
    std::vector<std::vector<int>> shapes;  // per spec layer: one sample's output shape
};

InferenceNet::InferenceNet(const NetworkSpec& spec, const WeightMap& weights, Precision precision)
    : spec_(spec), weights_(weights), precision_(precision) {
    require_precision(precision, "the oneDNN fast path");
    for (size_t i = 0; i < spec.layers.size(); ++i)
        if (spec.layers[i].type == "batch_norm" && (i == 0 || spec.layers[i - 1].type != "conv2d"))
            throw Error("layer " + spec.layers[i].name + ": the fast path folds batch norm into the convolution before it, and there is none");
}

InferenceNet::~InferenceNet() = default;

int InferenceNet::tap_layer(const NetworkSpec& spec, const std::string& tap) {
    std::string name;
    if (tap.rfind("pool", 0) == 0) name = "block" + tap.substr(4) + ".pool";
    else if (tap == "fc6" || tap == "fc7") name = "classifier." + tap;
    for (size_t i = spec.layers.size(); i-- > 0;) {
        if (!name.empty() && spec.layers[i].name == name) return static_cast<int>(i);
        if (tap == "logits" && spec.layers[i].type == "linear") return static_cast<int>(i);
    }
    throw Error("the network does not reach tap " + tap);
}

// Builds a plan layer by layer: one method per layer kind, sharing the activation threaded through
// (its memory and one sample's shape) and the plan's memory helpers.
class InferenceNet::PlanBuilder {
public:
    PlanBuilder(const InferenceNet& net, int n)
        : net_(net), layers_(net.spec_.layers), n_(n), eng_(onednn_engine()),
          act_(net.precision_ == Precision::bf16 ? dt::bf16 : dt::f32), plan_(std::make_unique<Plan>()), shape_(net.spec_.input_shape) {
        plan_->n = n;
        plan_->input = memory({dims_of(n, shape_), dt::f32, plain_tag(shape_.size() + 1)}, eng_, DNNL_MEMORY_NONE);
        current_ = plan_->input;
    }

    std::unique_ptr<Plan> build() {
        for (size_t i = 0; i < layers_.size(); ++i) {
            const std::string& type = layers_[i].type;
            if (passes_through(i)) {
                // Folded, fused or free at inference; flatten is implicit in the next fully connected layer.
                if (type == "flatten") shape_ = {shape_[0] * (shape_.size() == 3 ? shape_[1] * shape_[2] : 1)};
            } else if (type == "conv2d") {
                add_conv(i);
            } else if (type == "relu") {
                add_relu();
            } else if (type == "max_pool" || type == "avg_pool") {
                add_pool(layers_[i]);
            } else if (type == "linear") {
                add_linear(i);
            } else {
                throw Error("layer " + layers_[i].name + " of type " + type + " has no fast-path implementation");
            }
            plan_->after.push_back(current_);
            plan_->shapes.push_back(shape_);
        }
        onednn_stream().wait();
        return std::move(plan_);
    }

private:
    bool is(size_t i, const char* type) const { return i < layers_.size() && layers_[i].type == type; }

    bool passes_through(size_t i) const {
        const bool after_fusable = i > 0 && (is(i - 1, "conv2d") || is(i - 1, "linear") || is(i - 1, "batch_norm"));
        return is(i, "batch_norm") || is(i, "dropout") || is(i, "flatten") || (is(i, "relu") && after_fusable);
    }

    // Scratchpads owned by the plan: oneDNN's library-managed one is per thread, and the Winograd
    // kernels crash when a plan built on one thread runs on another (pipeline stages move between TBB threads).
    static dnnl::primitive_attr attributes(bool fused_relu) {
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        if (fused_relu) {
            dnnl::post_ops ops;
            ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
            attr.set_post_ops(ops);
        }
        return attr;
    }

    memory scratch(const memory::desc& d) { return memory(d, eng_); }

    // Brings the current activation into `want`, adding a reorder step when the layouts differ.
    memory conform(const memory::desc& want) {
        if (current_.get_desc() == want) return current_;
        memory m(want, eng_);
        plan_->steps.push_back({dnnl::reorder(current_, m), {{DNNL_ARG_FROM, current_}, {DNNL_ARG_TO, m}}});
        return m;
    }

    // Plain f32 weights -> the primitive's layout and type, once per plan.
    memory packed(const cv::Mat& values, const memory::dims& dims, tag t, const memory::desc& want) {
        memory user({dims, dt::f32, t}, eng_, const_cast<float*>(values.ptr<float>()));
        memory m(want, eng_);
        dnnl::reorder(user, m).execute(onednn_stream(), user, m);
        return m;
    }

    void add_conv(size_t i) {
        const LayerSpec& l = layers_[i];
        const auto& a = l.args;
        const int in = a.at("in"), out = a.at("out"), k = a.at("kernel"), s = a.at("stride"), p = a.at("pad");
        const bool bn = is(i + 1, "batch_norm");
        const FoldedConv f = fold(net_.weights_, l.name, bn ? &layers_[i + 1].name : nullptr, bn ? layers_[i + 1].args.at("eps").get<float>() : 0.0f);
        const bool relu = a.at("relu").get<bool>() || (!bn && is(i + 1, "relu")) || (bn && is(i + 2, "relu"));
        const dnnl::primitive_attr attr = attributes(relu);
        const std::vector<int> out_shape{out, window_output_size(shape_[1], k, s, p), window_output_size(shape_[2], k, s, p)};
        const memory::desc src{dims_of(n_, shape_), act_, tag::any}, wei{{out, in, k, k}, act_, tag::any}, bias{{out}, dt::f32, tag::x},
            dst{dims_of(n_, out_shape), act_, tag::any};
        dnnl::convolution_forward::primitive_desc pd;
        // Winograd F(4x4, 3x3) does fewer multiplications for VGG's 3x3 stride-1 layers where oneDNN has it.
        const bool winograd_shape = k == 3 && s == 1 && net_.precision_ == Precision::f32;
        try {
            if (!winograd_shape) throw dnnl::error(dnnl_unimplemented, "");
            pd = dnnl::convolution_forward::primitive_desc(
                {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd, src, wei, bias, dst, {s, s}, {p, p}, {p, p}}, attr, eng_);
        } catch (const dnnl::error&) {
            pd = dnnl::convolution_forward::primitive_desc(
                {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wei, bias, dst, {s, s}, {p, p}, {p, p}}, attr, eng_);
        }
        const memory x = conform(pd.src_desc());
        const memory w = packed(f.weights, {out, in, k, k}, tag::oihw, pd.weights_desc());
        const memory b = packed(f.bias, {out}, tag::x, pd.bias_desc());
        memory y(pd.dst_desc(), eng_);
        plan_->steps.push_back({dnnl::convolution_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y},
                                                                {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
        current_ = y;
        shape_ = out_shape;
    }

    void add_relu() {
        const dnnl::eltwise_forward::primitive_desc pd({dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_relu, current_.get_desc(), 0.0f, 0.0f},
                                                        attributes(false), eng_);
        memory y(pd.dst_desc(), eng_);
        plan_->steps.push_back({dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, current_}, {DNNL_ARG_DST, y}, {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
        current_ = y;
    }

    void add_pool(const LayerSpec& l) {
        const auto& a = l.args;
        const int k = a.at("kernel"), s = a.at("stride"), p = a.at("pad");
        const bool ceil = l.type == "max_pool" && a.at("ceil").get<bool>();
        const std::vector<int> out_shape{shape_[0], window_output_size(shape_[1], k, s, p, ceil), window_output_size(shape_[2], k, s, p, ceil)};
        const memory::dims pad_r{window_right_padding(shape_[1], out_shape[1], k, s, p), window_right_padding(shape_[2], out_shape[2], k, s, p)};
        const auto alg = l.type == "max_pool"                  ? dnnl::algorithm::pooling_max
                         : a.at("include_pad").get<bool>() ? dnnl::algorithm::pooling_avg_include_padding
                                                           : dnnl::algorithm::pooling_avg_exclude_padding;
        const dnnl::pooling_forward::primitive_desc pd(
            {dnnl::prop_kind::forward_inference, alg, current_.get_desc(), {dims_of(n_, out_shape), act_, tag::any}, {s, s}, {k, k}, {p, p}, pad_r},
            attributes(false), eng_);
        memory y(pd.dst_desc(), eng_);
        plan_->steps.push_back({dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, current_}, {DNNL_ARG_DST, y}, {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
        current_ = y;
        shape_ = out_shape;
    }

    void add_linear(size_t i) {
        const LayerSpec& l = layers_[i];
        const int in = l.args.at("in"), out = l.args.at("out");
        const dnnl::primitive_attr attr = attributes(l.args.at("relu").get<bool>() || is(i + 1, "relu"));
        // The source stays 4-D when it comes straight from pooling: no flattening copy.
        const memory::dims src_dims = current_.get_desc().dims();
        memory::dims wei_dims{out};
        for (size_t d = 1; d < src_dims.size(); ++d) wei_dims.push_back(src_dims[d]);
        const memory::desc src{src_dims, act_, tag::any}, wei{wei_dims, act_, tag::any}, bias{{out}, dt::f32, tag::x}, dst{{n_, out}, act_, tag::any};
        const dnnl::inner_product_forward::primitive_desc pd({dnnl::prop_kind::forward_inference, src, wei, bias, dst}, attr, eng_);
        const cv::Mat& weights = net_.weights_.at(l.name + ".weights");
        if (static_cast<int>(weights.total()) != in * out)
            throw Error("layer " + l.name + ": weights do not match " + std::to_string(in) + "x" + std::to_string(out));
        const memory x = conform(pd.src_desc());
        const memory w = packed(weights, wei_dims, wei_dims.size() == 4 ? tag::oihw : tag::oi, pd.weights_desc());
        const memory b = packed(net_.weights_.at(l.name + ".bias"), {out}, tag::x, pd.bias_desc());
        memory y(pd.dst_desc(), eng_);
        plan_->steps.push_back({dnnl::inner_product_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y},
                                                                  {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
        current_ = y;
        shape_ = {out};
    }

    const InferenceNet& net_;
    const std::vector<LayerSpec>& layers_;
    const int n_;
    dnnl::engine& eng_;
    const dt act_;
    std::unique_ptr<Plan> plan_;
    memory current_;
    std::vector<int> shape_;
};

std::unique_ptr<InferenceNet::Plan> InferenceNet::plan_for(int n) { return PlanBuilder(*this, n).build(); }

std::vector<cv::Mat> InferenceNet::forward(const cv::Mat& input, const std::vector<int>& outputs) {
    CV_Assert(input.type() == CV_32F && input.isContinuous());
    const int n = input.size[0];
    if (!plan_ || plan_->n != n) plan_ = plan_for(n);
    plan_->input.set_data_handle(const_cast<float*>(input.ptr<float>()));
    dnnl::stream& stream = onednn_stream();
    for (auto& step : plan_->steps) step.primitive.execute(stream, step.args);
    std::vector<cv::Mat> out;
    for (int index : outputs) {
        if (index < 0 || static_cast<size_t>(index) >= plan_->after.size()) throw Error("fast path: no layer " + std::to_string(index));
        const memory& m = plan_->after[static_cast<size_t>(index)];
        const std::vector<int>& sample = plan_->shapes[static_cast<size_t>(index)];
        std::vector<int> shape{n};
        shape.insert(shape.end(), sample.begin(), sample.end());
        cv::Mat result(shape, CV_32F);
        // A flattened [N, C*H*W] view of a 4-D activation is read in NCHW order, as Flatten defines it.
        const memory::dims& src_dims = m.get_desc().dims();
        memory plain({src_dims, dt::f32, plain_tag(src_dims.size())}, onednn_engine(), result.ptr<float>());
        dnnl::reorder(m, plain).execute(stream, const_cast<memory&>(m), plain);
        out.push_back(result);
    }
    stream.wait();
    if (precision_ == Precision::bf16) clear_vector_upper_state();
    return out;
}

}  // namespace cvtl
