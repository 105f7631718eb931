#include "plugin/inference_net.hpp"
#include "plugin/activation_arena.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "pipeline/engine/layers/window.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <climits>
#include <cstring>
#include <optional>
#include <tuple>
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

}  // namespace

struct InferenceNet::Plan {
    int n = 0;
    dnnl::stream stream{onednn_engine()};  // the plan's own: it runs on whichever thread calls forward()
    struct Step {
        dnnl::primitive primitive;
        std::unordered_map<int, memory> args;
    };
    std::vector<Step> steps;
    std::vector<int> outputs;              // the layers whose values forward() returns: they stay whole
    memory input;                          // plain f32 user memory (handle set per call)
    std::vector<memory> after;             // per spec layer: the activation after it (blocked)
    std::vector<std::vector<int>> shapes;  // per spec layer: one sample's output shape
    memory arena;                          // every activation's bytes (activation_arena.hpp)
    memory scratchpad;                     // shared by the steps, which run one after the other
};

InferenceNet::InferenceNet(const NetworkSpec& spec, const WeightMap& weights, Precision precision)
    : spec_(spec), weights_(weights), precision_(precision) {
    require_precision(precision, "the oneDNN fast path");
    for (size_t i = 0; i < spec.layers.size(); ++i) layer_kind(spec.layers[i].type).check_plannable(spec.layers, i);
}

InferenceNet::~InferenceNet() = default;

// Builds a plan layer by layer: each layer's kind adds its steps (pipeline/engine/kinds/) through the
// InferencePlan operations below, which share the activation threaded through (its memory and one
// sample's shape) and the plan's memory helpers.
class InferenceNet::PlanBuilder final : public InferencePlan {
public:
    PlanBuilder(const InferenceNet& net, int n, const std::vector<int>& outputs)
        : net_(net),
          layers_(net.spec_.layers),
          n_(n),
          eng_(onednn_engine()),
          act_(net.precision_ == Precision::bf16 ? dt::bf16 : dt::f32),
          plan_(std::make_unique<Plan>()),
          shape_(net.spec_.input_shape) {
        plan_->n = n;
        plan_->outputs = outputs;
        plan_->input = memory({dims_of(n, shape_), dt::f32, plain_tag(shape_.size() + 1)}, eng_, DNNL_MEMORY_NONE);
        current_ = plan_->input;
    }

    std::unique_ptr<Plan> build() {
        for (size_t i = 0; i < layers_.size();) {
            if (!layers_[i].inputs.empty()) select(layers_[i].inputs[0]);
            layer_ = i;
            const size_t used = layer_kind(layers_[i].type).plan(*this, layers_, i);
            // Layers folded or fused into another share its output.
            for (size_t k = 0; k < used; ++k) {
                plan_->after.push_back(current_);
                plan_->shapes.push_back(shape_);
            }
            i += used;
        }
        plan_->stream.wait();
        place_activations();
        share_scratchpad();
        return std::move(plan_);
    }

    const WeightMap& weights() const override { return net_.weights_; }
    const std::vector<int>& shape() const override { return shape_; }
    void reshape(const std::vector<int>& shape) override { shape_ = shape; }

private:
    // The output of layer `name` (kNetworkInput: the plan's input) with its shape: what a layer that
    // names its inputs reads. Layers fused into another share its output, so the fused layer's name
    // gives the same value.
    std::pair<memory, std::vector<int>> output_of(const std::string& name) const {
        if (name == kNetworkInput) return {plan_->input, net_.spec_.input_shape};
        for (size_t j = 0; j < plan_->after.size(); ++j)
            if (layers_[j].name == name) return {plan_->after[j], plan_->shapes[j]};
        throw Error("fast path: layer '" + name + "' is read before it is planned");
    }
    void select(const std::string& name) { std::tie(current_, shape_) = output_of(name); }

    // Scratchpads owned by the plan: oneDNN's library-managed one is per thread, and the Winograd
    // kernels crash when a plan built on one thread runs on another (pipeline stages move between TBB threads).
    // `sum`: the destination's previous value is added before the activation (a fused residual add).
    static dnnl::primitive_attr attributes(const FusedActivation& activation = {}, bool sum = false) {
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        dnnl::post_ops ops;
        if (sum) ops.append_sum(1.0f);
        if (activation.kind == FusedActivation::Kind::relu)
            ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        else if (activation.kind == FusedActivation::Kind::clip)
            ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, activation.lo, activation.hi);
        attr.set_post_ops(ops);
        return attr;
    }

    // Scratchpads and activations get their bytes once the plan is complete (share_scratchpad,
    // place_activations).
    memory scratch(const memory::desc& d) {
        scratches_.push_back(memory(d, eng_, DNNL_MEMORY_NONE));
        return scratches_.back();
    }
    memory activation_memory(const memory::desc& d) {
        acts_.push_back(memory(d, eng_, DNNL_MEMORY_NONE));
        return acts_.back();
    }
    void push(Plan::Step step) {
        plan_->steps.push_back(std::move(step));
        last_conv_.reset();
    }

    // Brings the current activation into `want`, adding a reorder step when the layouts differ.
    memory conform(const memory::desc& want) {
        if (current_.get_desc() == want) return current_;
        memory m = activation_memory(want);
        push({dnnl::reorder(current_, m), {{DNNL_ARG_FROM, current_}, {DNNL_ARG_TO, m}}});
        return m;
    }

    // Plain f32 weights -> the primitive's layout and type, once per plan.
    memory packed(const cv::Mat& values, const memory::dims& dims, tag t, const memory::desc& want) {
        memory user({dims, dt::f32, t}, eng_, const_cast<float*>(values.ptr<float>()));
        memory m(want, eng_);
        dnnl::reorder(user, m).execute(plan_->stream, user, m);
        return m;
    }

    // f32 convolutions whose input fills whole 16-channel blocks keep activations in oneDNN's
    // nChw16c. Winograd takes only that layout, and left to choose (`any`) the other convolutions
    // pick brgconv on nhwc, so a ResNet bottleneck reordered twice around every 3x3. Pinned, 1x1s
    // run as jit_1x1 on nChw16c: ResNet-50 extraction 8.5 % faster per image (4 of 4 paired runs,
    // docs/benchmarks.md); VGG-16's plan is unchanged, MobileNetV2 within noise. A narrow input
    // (the RGB stem, the unit tests' 4-channel models) and bf16 stay free to choose.
    tag activation_layout(int in_channels) const {
        return net_.precision_ == Precision::f32 && in_channels % 16 == 0 ? tag::aBcd16b : tag::any;
    }

    struct ConvolutionChoice {
        dnnl::convolution_forward::desc desc;
        dnnl::convolution_forward::primitive_desc pd;
    };

    // Winograd F(4x4, 3x3) where oneDNN has it (fewer multiplications for 3x3 stride-1 layers), else
    // direct, with the activations in `layout`.
    ConvolutionChoice choose_convolution(const memory::dims& wei_dims, const std::vector<int>& out_shape,
                                         const Window& window, const dnnl::primitive_attr& attr, tag layout) const {
        const int k = window.kernel, s = window.stride, p = window.pad, out = out_shape[0];
        const memory::desc src{dims_of(n_, shape_), act_, layout}, wei{wei_dims, act_, tag::any},
            bias_desc{{out}, dt::f32, tag::x}, dst{dims_of(n_, out_shape), act_, layout};
        const auto desc = [&](dnnl::algorithm algorithm) {
            return dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src, wei, bias_desc,
                                                   dst, {s, s}, {p, p}, {p, p});
        };
        if (k == 3 && s == 1 && window.groups == 1 && net_.precision_ == Precision::f32) try {
                const auto winograd = desc(dnnl::algorithm::convolution_winograd);
                return {winograd, dnnl::convolution_forward::primitive_desc(winograd, attr, eng_)};
            } catch (const dnnl::error&) {
                // no Winograd for this shape: direct below
            }
        const auto direct = desc(dnnl::algorithm::convolution_direct);
        return {direct, dnnl::convolution_forward::primitive_desc(direct, attr, eng_)};
    }

    void convolution(const cv::Mat& weights, const cv::Mat& bias, const Window& window,
                     const FusedActivation& activation) override {
        const int in = shape_[0], out = static_cast<int>(bias.total());
        const int k = window.kernel, s = window.stride, p = window.pad, g = window.groups;
        const dnnl::primitive_attr attr = attributes(activation);
        const std::vector<int> out_shape{out, window_output_size(shape_[1], k, s, p),
                                         window_output_size(shape_[2], k, s, p)};
        // Grouped weights [O, I/G, k, k] are oneDNN's [G, O/G, I/G, k, k] in the same order.
        const memory::dims wei_dims = g == 1 ? memory::dims{out, in, k, k} : memory::dims{g, out / g, in / g, k, k};
        ConvolutionChoice c = choose_convolution(wei_dims, out_shape, window, attr, activation_layout(in));
        // A pinned layout must never cost a fast kernel: where only oneDNN's reference code takes it
        // (the RGB stem took 20 s a batch that way), the layout is left free again.
        if (std::string(c.pd.impl_info_str()).rfind("ref", 0) == 0)
            c = choose_convolution(wei_dims, out_shape, window, attr, tag::any);
        const dnnl::convolution_forward::primitive_desc& pd = c.pd;
        const dnnl::convolution_forward::desc& chosen = c.desc;
        const memory x = conform(pd.src_desc());
        const memory w = packed(weights, wei_dims, g == 1 ? tag::oihw : tag::goihw, pd.weights_desc());
        const memory b = packed(bias, {out}, tag::x, pd.bias_desc());
        const memory y = activation_memory(pd.dst_desc());
        push({dnnl::convolution_forward(pd),
              {{DNNL_ARG_SRC, x},
               {DNNL_ARG_WEIGHTS, w},
               {DNNL_ARG_BIAS, b},
               {DNNL_ARG_DST, y},
               {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
        last_conv_ = LastConvolution{plan_->steps.size() - 1, chosen, activation.kind};
        current_ = y;
        shape_ = out_shape;
    }

    void relu() override { eltwise(dnnl::algorithm::eltwise_relu, 0.0f, 0.0f); }
    void clip(float lo, float hi) override { eltwise(dnnl::algorithm::eltwise_clip, lo, hi); }

    // current + the output of `other`, with the activation as a post-op: fused into the convolution
    // that produced one operand where it can be, else a binary step in current's layout.
    void add(const std::string& other, const FusedActivation& activation) override {
        auto [addend, addend_shape] = output_of(other);
        if (addend_shape != shape_) throw Error("fast path: the addition of " + other + " has mismatched shapes");
        if (fuse_into_convolution(addend, activation)) return;
        const memory::desc want = current_.get_desc();
        if (addend.get_desc() != want) {
            memory m = activation_memory(want);
            push({dnnl::reorder(addend, m), {{DNNL_ARG_FROM, addend}, {DNNL_ARG_TO, m}}});
            addend = m;
        }
        const dnnl::binary::primitive_desc pd(dnnl::binary::desc(dnnl::algorithm::binary_add, want, want, want),
                                              attributes(activation), eng_);
        const memory y = activation_memory(pd.dst_desc());
        push({dnnl::binary(pd),
              {{DNNL_ARG_SRC_0, current_},
               {DNNL_ARG_SRC_1, addend},
               {DNNL_ARG_DST, y},
               {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
        current_ = y;
    }

    // The residual add as a `sum` post-op of the convolution (the plan's last step) that produced one
    // operand, writing over the other operand's bytes: one pass over the data instead of a binary
    // step reading both. The overwritten operand must be dead after this layer, and so must the
    // convolution's own output, which is never produced.
    bool fuse_into_convolution(const memory& addend, const FusedActivation& activation) {
        if (!last_conv_ || last_conv_->activation != FusedActivation::Kind::none) return false;
        Plan::Step& step = plan_->steps[last_conv_->step];
        const memory conv_out = step.args.at(DNNL_ARG_DST);
        const memory target = conv_out.get() == current_.get() ? addend
                              : conv_out.get() == addend.get() ? current_
                                                               : memory();
        if (!target || target.get() == plan_->input.get() || target.get() == step.args.at(DNNL_ARG_SRC).get() ||
            target.get_desc() != conv_out.get_desc() || !dead_after_layer(target) || !dead_after_layer(conv_out))
            return false;
        dnnl::convolution_forward::primitive_desc pd;
        try {
            pd = dnnl::convolution_forward::primitive_desc(last_conv_->desc, attributes(activation, true), eng_);
        } catch (const dnnl::error&) {
            return false;
        }
        if (pd.dst_desc() != target.get_desc() || pd.src_desc() != step.args.at(DNNL_ARG_SRC).get_desc() ||
            pd.weights_desc() != step.args.at(DNNL_ARG_WEIGHTS).get_desc())
            return false;
        step.primitive = dnnl::convolution_forward(pd);
        step.args[DNNL_ARG_DST] = target;
        step.args[DNNL_ARG_SCRATCHPAD] = scratch(pd.scratchpad_desc());
        last_conv_.reset();
        current_ = target;
        return true;
    }

    // No requested output holds `value`, and no layer after the one being planned reads a layer
    // whose output it is.
    bool dead_after_layer(const memory& value) const {
        for (size_t j = 0; j < plan_->after.size(); ++j) {
            if (plan_->after[j].get() != value.get()) continue;
            if (std::find(plan_->outputs.begin(), plan_->outputs.end(), static_cast<int>(j)) != plan_->outputs.end())
                return false;
            for (size_t k = layer_ + 1; k < layers_.size(); ++k) {
                const auto& inputs = layers_[k].inputs;
                if (std::find(inputs.begin(), inputs.end(), layers_[j].name) != inputs.end()) return false;
                if (inputs.empty() && k == j + 1) return false;
            }
        }
        return true;
    }

    void eltwise(dnnl::algorithm algorithm, float alpha, float beta) {
        const dnnl::eltwise_forward::primitive_desc pd(
            {dnnl::prop_kind::forward_inference, algorithm, current_.get_desc(), alpha, beta}, attributes(), eng_);
        const memory y = activation_memory(pd.dst_desc());
        push({dnnl::eltwise_forward(pd),
              {{DNNL_ARG_SRC, current_}, {DNNL_ARG_DST, y}, {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
        current_ = y;
    }

    void pooling(Pooling algorithm, int k, int s, int p, bool ceil) override {
        const std::vector<int> out_shape{shape_[0], window_output_size(shape_[1], k, s, p, ceil),
                                         window_output_size(shape_[2], k, s, p, ceil)};
        const memory::dims pad_r{window_right_padding(shape_[1], out_shape[1], k, s, p),
                                 window_right_padding(shape_[2], out_shape[2], k, s, p)};
        const auto alg = algorithm == Pooling::max               ? dnnl::algorithm::pooling_max
                         : algorithm == Pooling::avg_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                                                 : dnnl::algorithm::pooling_avg_exclude_padding;
        const dnnl::pooling_forward::primitive_desc pd({dnnl::prop_kind::forward_inference,
                                                        alg,
                                                        current_.get_desc(),
                                                        {dims_of(n_, out_shape), act_, tag::any},
                                                        {s, s},
                                                        {k, k},
                                                        {p, p},
                                                        pad_r},
                                                       attributes(), eng_);
        const memory y = activation_memory(pd.dst_desc());
        push({dnnl::pooling_forward(pd),
              {{DNNL_ARG_SRC, current_}, {DNNL_ARG_DST, y}, {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
        current_ = y;
        shape_ = out_shape;
    }

    void inner_product(const cv::Mat& weights, const cv::Mat& bias, bool relu) override {
        const int out = static_cast<int>(bias.total());
        const dnnl::primitive_attr attr =
            attributes(relu ? FusedActivation{FusedActivation::Kind::relu} : FusedActivation{});
        // The source stays 4-D when it comes straight from pooling: no flattening copy.
        const memory::dims src_dims = current_.get_desc().dims();
        memory::dims wei_dims{out};
        for (size_t d = 1; d < src_dims.size(); ++d) wei_dims.push_back(src_dims[d]);
        const memory::desc src{src_dims, act_, tag::any}, wei{wei_dims, act_, tag::any},
            bias_desc{{out}, dt::f32, tag::x}, dst{{n_, out}, act_, tag::any};
        const dnnl::inner_product_forward::primitive_desc pd(
            {dnnl::prop_kind::forward_inference, src, wei, bias_desc, dst}, attr, eng_);
        const memory x = conform(pd.src_desc());
        const memory w = packed(weights, wei_dims, wei_dims.size() == 4 ? tag::oihw : tag::oi, pd.weights_desc());
        const memory b = packed(bias, {out}, tag::x, pd.bias_desc());
        const memory y = activation_memory(pd.dst_desc());
        push({dnnl::inner_product_forward(pd),
              {{DNNL_ARG_SRC, x},
               {DNNL_ARG_WEIGHTS, w},
               {DNNL_ARG_BIAS, b},
               {DNNL_ARG_DST, y},
               {DNNL_ARG_SCRATCHPAD, scratch(pd.scratchpad_desc())}}});
        current_ = y;
        shape_ = {out};
    }

    // Lifetimes from the steps that write or read each activation; the requested outputs live to the
    // end. Activations no step touches (a convolution's output replaced by a fused sum) get no bytes.
    void place_activations() {
        std::unordered_map<dnnl_memory_t, size_t> index;
        std::vector<ActivationLifetime> lifetimes(acts_.size(), ActivationLifetime{0, INT_MAX, -1});
        for (size_t i = 0; i < acts_.size(); ++i) {
            index[acts_[i].get()] = i;
            lifetimes[i].bytes = acts_[i].get_desc().get_size();
        }
        const int end = static_cast<int>(plan_->steps.size());
        for (int s = 0; s < end; ++s)
            for (const auto& [arg, m] : plan_->steps[static_cast<size_t>(s)].args)
                if (auto it = index.find(m.get()); it != index.end()) {
                    lifetimes[it->second].first = std::min(lifetimes[it->second].first, s);
                    lifetimes[it->second].last = std::max(lifetimes[it->second].last, s);
                }
        for (int o : plan_->outputs)
            if (o >= 0 && static_cast<size_t>(o) < plan_->after.size())
                if (auto it = index.find(plan_->after[static_cast<size_t>(o)].get()); it != index.end())
                    lifetimes[it->second].last = end;
        std::vector<size_t> used;
        std::vector<ActivationLifetime> live;
        for (size_t i = 0; i < acts_.size(); ++i)
            if (lifetimes[i].last >= 0) used.push_back(i), live.push_back(lifetimes[i]);
        const ArenaLayout layout = lay_out_arena(live);
        plan_->arena = memory({{static_cast<memory::dim>(std::max<size_t>(layout.bytes, 1))}, dt::u8, tag::x}, eng_);
        char* base = static_cast<char*>(plan_->arena.get_data_handle());
        for (size_t u = 0; u < used.size(); ++u) acts_[used[u]].set_data_handle(base + layout.offsets[u]);
    }

    void share_scratchpad() {
        size_t bytes = 1;
        for (const memory& m : scratches_) bytes = std::max(bytes, m.get_desc().get_size());
        plan_->scratchpad = memory({{static_cast<memory::dim>(bytes)}, dt::u8, tag::x}, eng_);
        for (memory& m : scratches_) m.set_data_handle(plan_->scratchpad.get_data_handle());
    }

    // The plan's last step while it is a convolution: what a following residual add can fuse into.
    struct LastConvolution {
        size_t step;
        dnnl::convolution_forward::desc desc;
        FusedActivation::Kind activation;
    };

    const InferenceNet& net_;
    const std::vector<LayerSpec>& layers_;
    const int n_;
    dnnl::engine& eng_;
    const dt act_;
    std::unique_ptr<Plan> plan_;
    memory current_;
    std::vector<int> shape_;
    size_t layer_ = 0;  // the layer being planned
    std::vector<memory> acts_, scratches_;
    std::optional<LastConvolution> last_conv_;
};

std::unique_ptr<InferenceNet::Plan> InferenceNet::plan_for(int n, const std::vector<int>& outputs) {
    return PlanBuilder(*this, n, outputs).build();
}

std::size_t InferenceNet::planned_steps() const { return plan_ ? plan_->steps.size() : 0; }

std::size_t InferenceNet::activation_bytes() const { return plan_ ? plan_->arena.get_desc().get_size() : 0; }

std::vector<cv::Mat> InferenceNet::forward(const cv::Mat& input, const std::vector<int>& outputs) {
    CVTL_ASSERT(input.type() == CV_32F && input.isContinuous());
    const int n = input.size[0];
    if (!plan_ || plan_->n != n || plan_->outputs != outputs) plan_ = plan_for(n, outputs);
    plan_->input.set_data_handle(const_cast<float*>(input.ptr<float>()));
    dnnl::stream& stream = plan_->stream;
    for (auto& step : plan_->steps) step.primitive.execute(stream, step.args);
    std::vector<cv::Mat> out;
    for (int index : outputs) {
        if (index < 0 || static_cast<size_t>(index) >= plan_->after.size())
            throw Error("fast path: no layer " + std::to_string(index));
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
