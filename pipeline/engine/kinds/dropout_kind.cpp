// Kind dropout: zeroes a random fraction p in training (scaling the rest by 1/(1-p)); identity at
// inference. cv::dnn's Dropout and Identity layers are recognised and dropped: the head builder adds
// its own dropout where the options ask for it.
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/dropout.hpp"

namespace cvtl {
namespace {

class DropoutKind final : public LayerKind {
public:
    BlockRoles block_roles() const override { return {true, true}; }
    const char* name() const override { return kind::dropout; }
    std::vector<std::string> opencv_types() const override { return {"Dropout", "Identity"}; }
    Translation translate(cv::dnn::Layer&, const std::vector<int>&) const override { return {}; }
    std::unique_ptr<Layer> make(const nlohmann::json& a) const override {
        return std::make_unique<Dropout>(a.at("p"), a.at("seed"));
    }
    size_t plan(InferencePlan&, const std::vector<LayerSpec>&, size_t) const override { return 1; }
    void export_onnx(OnnxGraph&, const LayerSpec&) const override {}
};

}  // namespace

const LayerKind& dropout_kind() {
    static const DropoutKind kind;
    return kind;
}

}  // namespace cvtl
