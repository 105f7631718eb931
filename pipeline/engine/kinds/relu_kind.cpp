// Kind relu: max(x, 0), on its own (the layers before it fuse it where they can).
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/relu.hpp"

namespace cvtl {
namespace {

class ReluKind final : public LayerKind {
public:
    BlockRoles block_roles() const override { return {true, true}; }
    const char* name() const override { return kind::relu; }
    std::vector<std::string> opencv_types() const override { return {"ReLU"}; }
    Translation translate(cv::dnn::Layer&, const std::vector<int>&) const override {
        return {name(), nlohmann::json::object(), {}};
    }
    FusedActivation fused_activation(const nlohmann::json&) const override { return {FusedActivation::Kind::relu}; }
    std::unique_ptr<Layer> make(const nlohmann::json&) const override { return std::make_unique<ReLU>(); }
    size_t plan(InferencePlan& plan, const std::vector<LayerSpec>&, size_t) const override {
        plan.relu();
        return 1;
    }
    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override { g.node("Relu", l.name, {}); }
};

}  // namespace

const LayerKind& relu_kind() {
    static const ReluKind kind;
    return kind;
}

}  // namespace cvtl
