// Kind add: residual addition of two earlier layers' outputs (ResNet, MobileNetV2), with a fused ReLU
// when ResNet's follows it. cv::dnn imports ONNX Add of two tensors as an Eltwise layer.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/add.hpp"

namespace cvtl {
namespace {

// cv::dnn's Eltwise layer keeps its operation (sum, product, max) and coefficients private, and ONNX
// Sub imports as an Eltwise sum with coefficients 1 and -1: so the layer is asked whether it computes
// a + b, on one sample of its real input shape `in` (the shapes it is set up for, as the block map's
// shape queries leave it; the net sets its layers up again for each new input shape).
bool computes_plain_sum(cv::dnn::Layer& layer, const std::vector<int>& in) {
    std::vector<int> shape{1};
    shape.insert(shape.end(), in.begin(), in.end());
    cv::Mat a(shape, CV_32F, cv::Scalar(1.5)), b(shape, CV_32F);
    for (size_t i = 0; i < b.total(); ++i) b.ptr<float>()[i] = static_cast<float>(i % 7) * 0.25f - 0.5f;
    std::vector<cv::Mat> inputs{a, b}, outputs{cv::Mat(shape, CV_32F)}, internals;
    try {
        std::vector<cv::dnn::MatShape> in_shapes{shape, shape}, out_shapes, internal_shapes;
        layer.getMemoryShapes(in_shapes, 1, out_shapes, internal_shapes);
        layer.finalize(cv::InputArrayOfArrays(inputs), cv::OutputArrayOfArrays(outputs));
        layer.forward(inputs, outputs, internals);
    } catch (const cv::Exception&) {
        return false;
    }
    for (size_t i = 0; i < b.total(); ++i)
        if (outputs[0].ptr<float>()[i] != 1.5f + b.ptr<float>()[i]) return false;
    return true;
}

class AddKind final : public LayerKind {
public:
    BlockRoles block_roles() const override { return {true, false}; }
    const char* name() const override { return kind::add; }
    std::vector<std::string> opencv_types() const override { return {"Eltwise"}; }
    bool fuses_relu() const override { return true; }
    std::string layer_name(const std::string& block, int ordinal, int) const override {
        return block + ".add" + std::to_string(ordinal);
    }

    Translation translate(cv::dnn::Layer& layer, const std::vector<int>& in) const override {
        if (!computes_plain_sum(layer, in))
            throw Error("layer " + layer.name + " (" + layer.type +
                        ") is not a plain sum of two tensors (a product, maximum or weighted sum cannot be trained)");
        return {name(), {{"relu", false}}, {}};
    }

    std::unique_ptr<Layer> make(const nlohmann::json& args) const override {
        return std::make_unique<Add>(ArgReader(args, kind::add).flag("relu"));
    }

    void check_plannable(const std::vector<LayerSpec>& layers, size_t i) const override {
        if (layers[i].inputs.size() != 2)
            throw Error("layer " + layers[i].name + ": an addition reads two layers, given " +
                        std::to_string(layers[i].inputs.size()));
    }
    size_t plan(InferencePlan& plan, const std::vector<LayerSpec>& layers, size_t i) const override {
        check_plannable(layers, i);
        const bool relu = ArgReader(layers[i].args, kind::add).flag("relu");
        const FusedActivation next = relu ? FusedActivation{} : fusable_activation(layers, i + 1);
        plan.add(layers[i].inputs[1], relu ? FusedActivation{FusedActivation::Kind::relu} : next);
        return next.kind == FusedActivation::Kind::none ? 1 : 2;
    }
    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        g.node("Add", l.name, {g.value_of(l.inputs.at(1))});
        if (ArgReader(l.args, kind::add).flag("relu")) g.node("Relu", l.name + ".relu", {});
    }
};

}  // namespace

const LayerKind& add_kind() {
    static const AddKind kind;
    return kind;
}

}  // namespace cvtl
