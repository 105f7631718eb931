// Kind linear: a fully connected layer y = W x + b (W [out, in]), optionally followed by a fused ReLU.
#include "pipeline/engine/kinds/linear_kind.hpp"

#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/core/shape.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/linear.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"
#include "pipeline/core/error.hpp"

#include <algorithm>
#include <cmath>

namespace cvtl {

LinearArgs LinearArgs::read(const nlohmann::json& a) {
    const ArgReader r(a, kind::linear);
    return {r.integer("in", 1), r.integer("out", 1), r.flag("relu")};
}

namespace {

class LinearKind final : public LayerKind {
public:
    BlockRoles block_roles() const override { return {false, true}; }
    const char* name() const override { return kind::linear; }
    std::vector<std::string> opencv_types() const override { return {"InnerProduct"}; }
    bool fuses_relu() const override { return true; }

    // A spatial input counts as flattened (the head builder puts a flatten layer before).
    Translation translate(cv::dnn::Layer& layer, const std::vector<int>& in) const override {
        const std::string where = "layer " + layer.name + " (" + layer.type + ")";
        if (layer.blobs.empty()) throw Error(where + " has no weights cvtl can read");
        const cv::Mat& w = layer.blobs[0];  // [out, in]
        const int inputs = static_cast<int>(shape_count(in));
        const int out = w.size[0];
        if (w.total() != static_cast<size_t>(inputs) * static_cast<size_t>(out))
            throw Error(where + " expects " + std::to_string(w.total() / static_cast<size_t>(std::max(out, 1))) +
                        " inputs, the layer before gives " + std::to_string(inputs));
        return {name(),
                LinearArgs{inputs, out, false}.json(),
                {{"weights", reshaped_copy(w, {out, inputs})}, {"bias", bias_or_zero(layer, out)}}};
    }

    std::vector<int> output_shape(const nlohmann::json& args, const std::vector<int>& in) const override {
        const LinearArgs a = LinearArgs::read(args);
        const int n = element_count(in);
        if (n != a.in)
            throw Error("a fully connected layer needs " + std::to_string(a.in) + " inputs, got " + std::to_string(n));
        return {a.out};
    }

    std::unique_ptr<Layer> make(const nlohmann::json& args) const override {
        const LinearArgs a = LinearArgs::read(args);
        return std::make_unique<Linear>(a.in, a.out, a.relu);
    }

    // PyTorch's nn.Linear default, U(-1/sqrt(in), 1/sqrt(in)) for weights and bias: it keeps the logits'
    // scale at any width. torchvision's N(0, 0.01) was tuned for 4096-wide layers and leaves a narrow
    // classifier's logits near zero, where training stalls.
    void initialise(const LayerSpec& l, std::mt19937_64& rng, WeightMap& w) const override {
        const LinearArgs a = LinearArgs::read(l.args);
        const int out = a.out, in = a.in;
        const float bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(in)));
        std::uniform_real_distribution<float> dist(-bound, bound);
        cv::Mat weights(std::vector<int>{out, in}, CV_32F), bias(std::vector<int>{out}, CV_32F);
        for (size_t i = 0; i < weights.total(); ++i) weights.ptr<float>()[i] = dist(rng);
        for (size_t i = 0; i < bias.total(); ++i) bias.ptr<float>()[i] = dist(rng);
        w[l.name + ".weights"] = weights;
        w[l.name + ".bias"] = bias;
    }

    size_t plan(InferencePlan& plan, const std::vector<LayerSpec>& layers, size_t i) const override {
        const LayerSpec& l = layers[i];
        const LinearArgs a = LinearArgs::read(l.args);
        const bool next_relu = fusable(layers, i + 1, kind::relu);
        const cv::Mat& weights = plan.weights().at(l.name + ".weights");
        if (weights.total() != static_cast<size_t>(a.in) * static_cast<size_t>(a.out))
            throw Error("layer " + l.name + ": weights do not match " + std::to_string(a.in) + "x" +
                        std::to_string(a.out));
        plan.inner_product(weights, plan.weights().at(l.name + ".bias"), a.relu || next_relu);
        return next_relu ? 2 : 1;
    }

    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        const LinearArgs a = LinearArgs::read(l.args);
        const int in = a.in, out = a.out;
        g.initializer(l.name + ".weights", {out, in});
        g.initializer(l.name + ".bias", {out});
        g.node("Gemm", l.name, {l.name + ".weights", l.name + ".bias"}, {{"transB", 1}});
        if (a.relu) g.node("Relu", l.name + ".relu", {});
    }
};

}  // namespace

const LayerKind& linear_kind() {
    static const LinearKind kind;
    return kind;
}

}  // namespace cvtl
