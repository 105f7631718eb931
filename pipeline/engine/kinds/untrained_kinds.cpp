// Layers that cv::dnn runs in a VGG-shaped source and the block map accepts, but that cvtl never trains:
// Softmax (the source's probabilities, after the logits the head builder stops at) and Permute (a layout
// change some importers insert). Their descriptors exist so that the block map asks the registry alone;
// translating one says that cvtl cannot train it (LayerKind::translate), so no network ever holds one.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layer_kind.hpp"

namespace cvtl {
namespace {

class UntrainedKind final : public LayerKind {
public:
    UntrainedKind(const char* name, const char* opencv_type, BlockRoles roles)
        : name_(name), opencv_type_(opencv_type), roles_(roles) {}
    const char* name() const override { return name_; }
    std::vector<std::string> opencv_types() const override { return {opencv_type_}; }
    BlockRoles block_roles() const override { return roles_; }

    std::unique_ptr<Layer> make(const nlohmann::json&) const override { unreachable(); }
    size_t plan(InferencePlan&, const std::vector<LayerSpec>&, size_t) const override { unreachable(); }
    void export_onnx(OnnxGraph&, const LayerSpec&) const override { unreachable(); }

private:
    [[noreturn]] void unreachable() const { CVTL_INTERNAL(std::string("a network holds an untrained ") + name_); }
    const char* name_;
    const char* opencv_type_;
    BlockRoles roles_;
};

}  // namespace

const LayerKind& softmax_kind() {
    static const UntrainedKind kind("softmax", "Softmax", {false, true});
    return kind;
}

const LayerKind& permute_kind() {
    static const UntrainedKind kind("permute", "Permute", {true, true});
    return kind;
}

}  // namespace cvtl
