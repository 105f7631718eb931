// Kinds max_pool and avg_pool: square 2-D pooling with PyTorch/ONNX window semantics (max pooling
// also in ceil mode, Caffe's default). cv::dnn's one Pooling type is recognised here for both.
#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/avg_pool2d.hpp"
#include "pipeline/engine/layers/max_pool2d.hpp"
#include "pipeline/engine/layers/window.hpp"
#include "pipeline/core/error.hpp"

#include <opencv2/dnn/all_layers.hpp>

namespace cvtl {
namespace {

// A pooling's arguments: square window, stride and symmetric padding; max pooling's ceil mode (absent
// in runs from before it was stored: floor) and average pooling's divisor (padding counted or not).
struct PoolArgs {
    int kernel = 0, stride = 1, pad = 0;
    bool ceil = false, include_pad = false;

    static PoolArgs read(const nlohmann::json& a, const char* kind_name) {
        const ArgReader r(a, kind_name);
        PoolArgs p{r.integer("kernel", 1), r.integer("stride", 1), r.integer("pad", 0), false, false};
        if (kind_name == std::string(kind::max_pool))
            p.ceil = r.flag("ceil", false);
        else
            p.include_pad = r.flag("include_pad");
        return p;
    }
    nlohmann::json max_json() const { return {{"kernel", kernel}, {"stride", stride}, {"pad", pad}, {"ceil", ceil}}; }
    nlohmann::json avg_json() const {
        return {{"kernel", kernel}, {"stride", stride}, {"pad", pad}, {"include_pad", include_pad}};
    }
};

class Pool2dKind : public LayerKind {
public:
    BlockRoles block_roles() const override { return {true, true}; }
    std::vector<int> output_shape(const nlohmann::json& args, const std::vector<int>& in) const override {
        const PoolArgs a = PoolArgs::read(args, name());
        if (in.size() != 3) throw Error("pooling needs [C, H, W] inputs");
        return {in[0], window_output_size(in[1], a.kernel, a.stride, a.pad, a.ceil),
                window_output_size(in[2], a.kernel, a.stride, a.pad, a.ceil)};
    }

protected:
    void export_pool(OnnxGraph& g, const LayerSpec& l, const char* op, const char* flag, bool value) const {
        const PoolArgs a = PoolArgs::read(l.args, name());
        const int k = a.kernel, s = a.stride, p = a.pad;
        g.node(op, l.name, {},
               {{"kernel_shape", std::vector<int>{k, k}},
                {"strides", std::vector<int>{s, s}},
                {"pads", std::vector<int>{p, p, p, p}},
                {flag, value ? 1 : 0}});
    }
    void plan_pool(InferencePlan& plan, const nlohmann::json& args, InferencePlan::Pooling alg) const {
        const PoolArgs a = PoolArgs::read(args, name());
        plan.pooling(alg, a.kernel, a.stride, a.pad, a.ceil);
    }
};

class MaxPoolKind final : public Pool2dKind {
public:
    const char* name() const override { return kind::max_pool; }
    std::string layer_name(const std::string& block, int, int) const override { return block + ".pool"; }
    std::vector<std::string> opencv_types() const override { return {"Pooling"}; }

    Translation translate(cv::dnn::Layer& layer, const std::vector<int>& in) const override {
        auto* pool = dynamic_cast<cv::dnn::PoolingLayer*>(&layer);
        const std::string where = "layer " + layer.name + " (" + layer.type + ")";
        if (!pool) throw Error(where + " is not a pooling layer cvtl can read");
        const bool global = pool->globalPooling;
        if (global && in[1] != in[2]) throw Error(where + ": global pooling of a non-square map");
        const int k = global ? in[1] : square_param(pool->kernel_size, "kernel", layer.name);
        const int stride = global ? 1 : square_param(pool->strides, "stride", layer.name);
        const int pad = global || pool->pads_begin.empty() ? 0 : square_param(pool->pads_begin, "padding", layer.name);
        if (pool->type == kOpenCvMaxPool)
            return {name(), PoolArgs{k, stride, pad, pool->ceilMode, false}.max_json(), {}};
        // Average pooling is trained and exported in floor mode only: refuse a ceil mode that changes the size.
        if (pool->ceilMode &&
            window_output_size(in[1], k, stride, pad, true) != window_output_size(in[1], k, stride, pad, false))
            throw Error(where + ": average pooling in ceil mode is not supported for training");
        return {kind::avg_pool, PoolArgs{k, stride, pad, false, pool->avePoolPaddedArea}.avg_json(), {}};
    }

    std::unique_ptr<Layer> make(const nlohmann::json& args) const override {
        const PoolArgs a = PoolArgs::read(args, name());
        return std::make_unique<MaxPool2d>(a.kernel, a.stride, a.pad, a.ceil);
    }
    size_t plan(InferencePlan& plan, const std::vector<LayerSpec>& layers, size_t i) const override {
        plan_pool(plan, layers[i].args, InferencePlan::Pooling::max);
        return 1;
    }
    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        export_pool(g, l, "MaxPool", "ceil_mode", PoolArgs::read(l.args, name()).ceil);
    }
};

class AvgPoolKind final : public Pool2dKind {
public:
    const char* name() const override { return kind::avg_pool; }
    std::string layer_name(const std::string& block, int, int) const override { return block + ".avgpool"; }
    std::unique_ptr<Layer> make(const nlohmann::json& args) const override {
        const PoolArgs a = PoolArgs::read(args, name());
        return std::make_unique<AvgPool2d>(a.kernel, a.stride, a.pad, a.include_pad);
    }
    size_t plan(InferencePlan& plan, const std::vector<LayerSpec>& layers, size_t i) const override {
        const bool include = PoolArgs::read(layers[i].args, name()).include_pad;
        plan_pool(plan, layers[i].args,
                  include ? InferencePlan::Pooling::avg_include_pad : InferencePlan::Pooling::avg_exclude_pad);
        return 1;
    }
    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        export_pool(g, l, "AveragePool", "count_include_pad", PoolArgs::read(l.args, name()).include_pad);
    }
};

}  // namespace

const LayerKind& max_pool_kind() {
    static const MaxPoolKind kind;
    return kind;
}

const LayerKind& avg_pool_kind() {
    static const AvgPoolKind kind;
    return kind;
}

}  // namespace cvtl
