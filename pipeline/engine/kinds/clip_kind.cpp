// Kind clip: min(max(x, lo), hi). MobileNetV2's ReLU6, which cv::dnn imports as its ReLU6 layer.
#include "pipeline/engine/kinds/clip_kind.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/clip.hpp"

#include <opencv2/dnn/all_layers.hpp>

namespace cvtl {

ClipArgs ClipArgs::read(const nlohmann::json& a) {
    const ArgReader r(a, kind::clip);
    const ClipArgs c{r.number("min", -1e30f, 1e30f), r.number("max", -1e30f, 1e30f)};
    if (!(c.min < c.max)) throw Error("a clip's argument 'min' must be below 'max', found " + a.dump());
    return c;
}

namespace {

class ClipKind final : public LayerKind {
public:
    BlockRoles block_roles() const override { return {true, true}; }
    const char* name() const override { return kind::clip; }
    std::vector<std::string> opencv_types() const override { return {"ReLU6"}; }
    std::string layer_name(const std::string& block, int ordinal, int) const override {
        return block + ".clip" + std::to_string(ordinal);
    }

    Translation translate(cv::dnn::Layer& layer, const std::vector<int>&) const override {
        auto* clip = dynamic_cast<cv::dnn::ReLU6Layer*>(&layer);
        if (!clip) throw Error("layer " + layer.name + " (" + layer.type + ") is not a clip cvtl can read");
        return {name(), ClipArgs{clip->minValue, clip->maxValue}.json(), {}};
    }

    FusedActivation fused_activation(const nlohmann::json& args) const override {
        const ClipArgs a = ClipArgs::read(args);
        return {FusedActivation::Kind::clip, a.min, a.max};
    }
    std::unique_ptr<Layer> make(const nlohmann::json& args) const override {
        const ClipArgs a = ClipArgs::read(args);
        return std::make_unique<Clip>(a.min, a.max);
    }
    size_t plan(InferencePlan& plan, const std::vector<LayerSpec>& layers, size_t i) const override {
        const ClipArgs a = ClipArgs::read(layers[i].args);
        plan.clip(a.min, a.max);
        return 1;
    }
    // Clip's bounds are attributes up to opset 10, the form OpenCV 4.6's importer reads (from opset 11
    // they are inputs, which it refuses).
    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        const ClipArgs a = ClipArgs::read(l.args);
        g.limit_opset(10);
        g.node("Clip", l.name, {}, {{"min", a.min}, {"max", a.max}});
    }
};

}  // namespace

const LayerKind& clip_kind() {
    static const ClipKind kind;
    return kind;
}

}  // namespace cvtl
