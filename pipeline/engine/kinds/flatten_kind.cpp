// Kind flatten: [C, H, W] -> [C*H*W] in NCHW order, as torch.flatten and ONNX Flatten(axis=1).
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/flatten.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"

namespace cvtl {
namespace {

class FlattenKind final : public LayerKind {
public:
    BlockRoles block_roles() const override { return {false, true}; }
    const char* name() const override { return kind::flatten; }
    std::vector<std::string> opencv_types() const override { return {"Flatten", "Reshape"}; }
    Translation translate(cv::dnn::Layer&, const std::vector<int>&) const override {
        return {name(), nlohmann::json::object(), {}};
    }
    std::vector<int> output_shape(const nlohmann::json&, const std::vector<int>& in) const override {
        return {element_count(in)};
    }
    std::unique_ptr<Layer> make(const nlohmann::json&) const override { return std::make_unique<Flatten>(); }
    // Free at inference: the next fully connected layer reads the activation in NCHW order.
    size_t plan(InferencePlan& plan, const std::vector<LayerSpec>&, size_t) const override {
        plan.reshape(output_shape({}, plan.shape()));
        return 1;
    }
    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override { g.node("Flatten", l.name, {}, {{"axis", 1}}); }
};

}  // namespace

const LayerKind& flatten_kind() {
    static const FlattenKind kind;
    return kind;
}

}  // namespace cvtl
