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

bool ceil_of(const nlohmann::json& a) { return a.contains("ceil") && a.at("ceil").get<bool>(); }

class Pool2dKind : public LayerKind {
public:
    BlockRoles block_roles() const override { return {true, true}; }
    std::vector<int> output_shape(const nlohmann::json& a, const std::vector<int>& in) const override {
        const int k = a.at("kernel"), s = a.at("stride"), p = a.at("pad");
        if (in.size() != 3) throw Error("pooling needs [C, H, W] inputs");
        return {in[0], window_output_size(in[1], k, s, p, ceil_of(a)), window_output_size(in[2], k, s, p, ceil_of(a))};
    }

protected:
    void export_pool(OnnxGraph& g, const LayerSpec& l, const char* op, const char* flag, bool value) const {
        const int k = l.args.at("kernel"), s = l.args.at("stride"), p = l.args.at("pad");
        g.node(op, l.name, {},
               {{"kernel_shape", std::vector<int>{k, k}},
                {"strides", std::vector<int>{s, s}},
                {"pads", std::vector<int>{p, p, p, p}},
                {flag, value ? 1 : 0}});
    }
    static void plan_pool(InferencePlan& plan, const nlohmann::json& a, InferencePlan::Pooling alg) {
        plan.pooling(alg, a.at("kernel"), a.at("stride"), a.at("pad"), ceil_of(a));
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
            return {name(), {{"kernel", k}, {"stride", stride}, {"pad", pad}, {"ceil", pool->ceilMode}}, {}};
        // Average pooling is trained and exported in floor mode only: refuse a ceil mode that changes the size.
        if (pool->ceilMode &&
            window_output_size(in[1], k, stride, pad, true) != window_output_size(in[1], k, stride, pad, false))
            throw Error(where + ": average pooling in ceil mode is not supported for training");
        return {kind::avg_pool,
                {{"kernel", k}, {"stride", stride}, {"pad", pad}, {"include_pad", pool->avePoolPaddedArea}},
                {}};
    }

    std::unique_ptr<Layer> make(const nlohmann::json& a) const override {
        return std::make_unique<MaxPool2d>(a.at("kernel"), a.at("stride"), a.at("pad"), a.at("ceil"));
    }
    size_t plan(InferencePlan& plan, const std::vector<LayerSpec>& layers, size_t i) const override {
        plan_pool(plan, layers[i].args, InferencePlan::Pooling::max);
        return 1;
    }
    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        export_pool(g, l, "MaxPool", "ceil_mode", ceil_of(l.args));
    }
};

class AvgPoolKind final : public Pool2dKind {
public:
    const char* name() const override { return kind::avg_pool; }
    std::string layer_name(const std::string& block, int, int) const override { return block + ".avgpool"; }
    std::unique_ptr<Layer> make(const nlohmann::json& a) const override {
        return std::make_unique<AvgPool2d>(a.at("kernel"), a.at("stride"), a.at("pad"), a.at("include_pad"));
    }
    size_t plan(InferencePlan& plan, const std::vector<LayerSpec>& layers, size_t i) const override {
        const bool include = layers[i].args.at("include_pad").get<bool>();
        plan_pool(plan, layers[i].args,
                  include ? InferencePlan::Pooling::avg_include_pad : InferencePlan::Pooling::avg_exclude_pad);
        return 1;
    }
    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        export_pool(g, l, "AveragePool", "count_include_pad", l.args.at("include_pad").get<bool>());
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
