#include "plugin/inference_net.hpp"

#include "plugin/error.hpp"
#include "plugin/layers/onednn_context.hpp"
#include "plugin/layers/window.hpp"

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

std::unique_ptr<InferenceNet::Plan> InferenceNet::plan_for(int n) {
    auto plan = std::make_unique<Plan>();
    plan->n = n;
    dnnl::engine& eng = onednn_engine();
    const dt act = precision_ == Precision::bf16 ? dt::bf16 : dt::f32;
    std::vector<int> shape = spec_.input_shape;
    plan->input = memory({dims_of(n, shape), dt::f32, plain_tag(shape.size() + 1)}, eng, DNNL_MEMORY_NONE);
    memory current = plan->input;

    // The primitive's scratchpad, as the plan's own memory.
    auto scratch = [&](const memory::desc& d) { return memory(d, eng); };
    // Brings `current` into `want`, adding a reorder step when the layouts differ.
    auto conform = [&](const memory::desc& want) {
        if (current.get_desc() == want) return current;
        memory m(want, eng);
        plan->steps.push_back({dnnl::reorder(current, m), {{DNNL_ARG_FROM, current}, {DNNL_ARG_TO, m}}});
        return m;
    };
    // Plain f32 weights -> the primitive's layout and type, once per plan.
    auto packed = [&](const cv::Mat& values, const memory::dims& dims, tag t, const memory::desc& want) {
        memory user({dims, dt::f32, t}, eng, const_cast<float*>(values.ptr<float>()));
        memory m(want, eng);
        dnnl::reorder(user, m).execute(onednn_stream(), user, m);
        return m;
    };

    const auto& layers = spec_.layers;
    for (size_t i = 0; i < layers.size(); ++i) {
        const LayerSpec& l = layers[i];
        const auto& a = l.args;
        const bool relu_next = i + 1 < layers.size() && layers[i + 1].type == "relu";
        dnnl::primitive_attr attr;
        // Scratchpads owned by the plan: oneDNN's library-managed one is per thread, and the Winograd
        // kernels crash when a plan built on one thread runs on another (pipeline stages move between TBB threads).
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        auto with_relu = [&](bool relu) {
            if (!relu) return;
            dnnl::post_ops ops;
            ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
            attr.set_post_ops(ops);
        };
        if (l.type == "conv2d") {
            const int in = a.at("in"), out = a.at("out"), k = a.at("kernel"), s = a.at("stride"), p = a.at("pad");
            const bool bn = i + 1 < layers.size() && layers[i + 1].type == "batch_norm";
            const std::string* bn_name = bn ? &layers[i + 1].name : nullptr;
            const FoldedConv f = fold(weights_, l.name, bn_name, bn ? layers[i + 1].args.at("eps").get<float>() : 0.0f);
            const bool relu = a.at("relu").get<bool>() || (!bn && relu_next) ||
                              (bn && i + 2 < layers.size() && layers[i + 2].type == "relu");
            with_relu(relu);
            const std::vector<int> out_shape{out, window_output_size(shape[1], k, s, p), window_output_size(shape[2], k, s, p)};
            const memory::desc src{dims_of(n, shape), act, tag::any}, wei{{out, in, k, k}, act, tag::any},
                bias{{out}, dt::f32, tag::x}, dst{dims_of(n, out_shape), act, tag::any};
            dnnl::convolution_forward::primitive_desc pd;
            // Winograd F(4x4, 3x3) does fewer multiplications for VGG's 3x3 stride-1 layers where oneDNN has it.
            const bool winograd_shape = k == 3 && s == 1 && precision_ == Precision::f32;
            try {
                if (!winograd_shape) throw dnnl::error(dnnl_unimplemented, "");
                pd = dnnl::convolution_forward::primitive_desc(
                    {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd, src, wei, bias, dst, {s, s}, {p, p}, {p, p}}, attr, eng);
            } catch (const dnnl::error&) {
                pd = dnnl::convolution_forward::primitive_desc(
                    {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wei, bias, dst, {s, s}, {p, p}, {p, p}}, attr, eng);
            }
            const memory x = conform(pd.src_desc());
            const memory w = packed(f.weights, {out, in, k, k}, tag::oihw, pd.weights_desc());
            const memory b = packed(f.bias, {out}, tag::x, pd.bias_desc());
            memory y(pd.dst_desc(), eng);
            plan->steps.push_back({dnnl::convolution_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y},
                                                                   {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
            current = y;
            shape = out_shape;
        } else if (l.type == "batch_norm" || l.type == "dropout" || l.type == "flatten" ||
                   (l.type == "relu" && i > 0 && (layers[i - 1].type == "conv2d" || layers[i - 1].type == "linear" ||
                                                  (layers[i - 1].type == "batch_norm")))) {
            // Folded, fused or free at inference; flatten is implicit in the next fully connected layer.
            if (l.type == "flatten") shape = {shape[0] * (shape.size() == 3 ? shape[1] * shape[2] : 1)};
            plan->after.push_back(current);
            plan->shapes.push_back(shape);
            continue;
        } else if (l.type == "relu") {
            const dnnl::eltwise_forward::primitive_desc pd({dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_relu,
                                                            current.get_desc(), 0.0f, 0.0f}, attr, eng);
            memory y(pd.dst_desc(), eng);
            plan->steps.push_back({dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, current}, {DNNL_ARG_DST, y}, {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
            current = y;
        } else if (l.type == "max_pool" || l.type == "avg_pool") {
            const int k = a.at("kernel"), s = a.at("stride"), p = a.at("pad");
            const bool ceil = l.type == "max_pool" && a.at("ceil").get<bool>();
            const std::vector<int> out_shape{shape[0], window_output_size(shape[1], k, s, p, ceil), window_output_size(shape[2], k, s, p, ceil)};
            const memory::dims pad_r{window_right_padding(shape[1], out_shape[1], k, s, p), window_right_padding(shape[2], out_shape[2], k, s, p)};
            const auto alg = l.type == "max_pool" ? dnnl::algorithm::pooling_max
                             : a.at("include_pad").get<bool>() ? dnnl::algorithm::pooling_avg_include_padding
                                                               : dnnl::algorithm::pooling_avg_exclude_padding;
            const dnnl::pooling_forward::primitive_desc pd(
                {dnnl::prop_kind::forward_inference, alg, current.get_desc(), {dims_of(n, out_shape), act, tag::any}, {s, s}, {k, k}, {p, p}, pad_r}, attr, eng);
            memory y(pd.dst_desc(), eng);
            plan->steps.push_back({dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, current}, {DNNL_ARG_DST, y}, {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
            current = y;
            shape = out_shape;
        } else if (l.type == "linear") {
            const int in = a.at("in"), out = a.at("out");
            const bool relu = a.at("relu").get<bool>() || relu_next;
            with_relu(relu);
            // The source stays 4-D when it comes straight from pooling: no flattening copy.
            const memory::dims src_dims = current.get_desc().dims();
            memory::dims wei_dims{out};
            for (size_t d = 1; d < src_dims.size(); ++d) wei_dims.push_back(src_dims[d]);
            const memory::desc src{src_dims, act, tag::any}, wei{wei_dims, act, tag::any}, bias{{out}, dt::f32, tag::x},
                dst{{n, out}, act, tag::any};
            const dnnl::inner_product_forward::primitive_desc pd({dnnl::prop_kind::forward_inference, src, wei, bias, dst}, attr, eng);
            if (static_cast<int>(weights_.at(l.name + ".weights").total()) != in * out)
                throw Error("layer " + l.name + ": weights do not match " + std::to_string(in) + "x" + std::to_string(out));
            const memory x = conform(pd.src_desc());
            const memory w = packed(weights_.at(l.name + ".weights"), wei_dims, wei_dims.size() == 4 ? tag::oihw : tag::oi, pd.weights_desc());
            const memory b = packed(weights_.at(l.name + ".bias"), {out}, tag::x, pd.bias_desc());
            memory y(pd.dst_desc(), eng);
            plan->steps.push_back({dnnl::inner_product_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y},
                                                                     {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
            current = y;
            shape = {out};
        } else {
            throw Error("layer " + l.name + " of type " + l.type + " has no fast-path implementation");
        }
        plan->after.push_back(current);
        plan->shapes.push_back(shape);
    }
    onednn_stream().wait();
    return plan;
}

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
