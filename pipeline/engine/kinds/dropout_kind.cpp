// Kind dropout: zeroes a random fraction p in training (scaling the rest by 1/(1-p)); identity at
// inference. cv::dnn's Dropout and Identity layers are recognised and dropped: the head builder adds
// its own dropout where the options ask for it.
#include "pipeline/engine/kinds/dropout_kind.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/dropout.hpp"

namespace cvtl {

DropoutArgs DropoutArgs::read(const nlohmann::json& a) {
    const ArgReader r(a, kind::dropout);
    const float p = r.number("p", 0.0f, 1.0f);
    if (p >= 1.0f) throw Error("a dropout's argument 'p' must be below 1, found " + std::to_string(p));
    return {p, r.unsigned_integer("seed")};
}

namespace {

class DropoutKind final : public LayerKind {
public:
    BlockRoles block_roles() const override { return {true, true}; }
    const char* name() const override { return kind::dropout; }
    std::vector<std::string> opencv_types() const override { return {"Dropout", "Identity"}; }
    Translation translate(cv::dnn::Layer&, const std::vector<int>&) const override { return {}; }
    std::unique_ptr<Layer> make(const nlohmann::json& args) const override {
        const DropoutArgs a = DropoutArgs::read(args);
        return std::make_unique<Dropout>(a.p, a.seed);
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
