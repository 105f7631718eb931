// Kind batch_norm: per-channel normalisation with running statistics (PyTorch's BatchNorm2d).
#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/batch_norm2d.hpp"
#include "pipeline/core/error.hpp"

#include <opencv2/dnn/all_layers.hpp>

namespace cvtl {
namespace {

class BatchNormKind final : public LayerKind {
public:
    const char* name() const override { return kind::batch_norm; }
    std::string layer_name(const std::string& block, int ordinal, int) const override {
        return block + "." + "bn" + std::to_string(ordinal);
    }
    std::vector<std::string> opencv_types() const override { return {"BatchNorm"}; }

    // cv::dnn keeps [mean, var, (scale), (shift)], each with C values.
    Translation translate(cv::dnn::Layer& layer, const std::vector<int>& in) const override {
        auto* bn = dynamic_cast<cv::dnn::BatchNormLayer*>(&layer);
        const std::string where = "layer " + layer.name + " (" + layer.type + ")";
        const int c = in[0];
        if (!bn || layer.blobs.size() < 2) throw Error(where + " has no statistics cvtl can read");
        if (layer.blobs.size() < 2 + static_cast<size_t>(bn->hasWeights) + static_cast<size_t>(bn->hasBias))
            throw Error(where + " lacks the scale or shift it declares");
        size_t next = 2;
        Translation t{name(), {{"channels", c}, {"eps", bn->epsilon}, {"momentum", 0.1}}, {}};
        t.values["running_mean"] = reshaped_copy(layer.blobs[0], {c});
        t.values["running_var"] = reshaped_copy(layer.blobs[1], {c});
        t.values["gamma"] = bn->hasWeights ? reshaped_copy(layer.blobs[next++], {c}) : filled(c, 1);
        t.values["beta"] = bn->hasBias ? reshaped_copy(layer.blobs[next], {c}) : filled(c, 0);
        return t;
    }

    std::vector<int> output_shape(const nlohmann::json& a, const std::vector<int>& in) const override {
        if (in.empty() || in[0] != a.at("channels").get<int>())
            throw Error("a batch norm needs " + a.at("channels").dump() + " channels");
        return in;
    }

    std::unique_ptr<Layer> make(const nlohmann::json& a) const override {
        return std::make_unique<BatchNorm2d>(a.at("channels"), a.at("eps"), a.at("momentum"));
    }

    void initialise(const LayerSpec& l, std::mt19937_64&, WeightMap& w) const override {
        const int c = l.args.at("channels");
        w[l.name + ".gamma"] = filled(c, 1);
        w[l.name + ".beta"] = filled(c, 0);
        w[l.name + ".running_mean"] = filled(c, 0);
        w[l.name + ".running_var"] = filled(c, 1);
    }

    // The convolution before a batch norm folds it (conv2d_kind); the fast path has no batch norm of its own.
    void check_plannable(const std::vector<LayerSpec>& layers, size_t i) const override {
        if (i == 0 || !layer_is(layers, i - 1, kind::conv2d))
            throw Error("layer " + layers[i].name +
                        ": the fast path folds batch norm into the convolution before it, and there is none");
    }
    size_t plan(InferencePlan&, const std::vector<LayerSpec>& layers, size_t i) const override {
        check_plannable(layers, i);
        return 1;  // not reached: conv2d_kind consumed it
    }

    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        const int c = l.args.at("channels");
        for (const char* p : {".gamma", ".beta", ".running_mean", ".running_var"}) g.initializer(l.name + p, {c});
        g.node("BatchNormalization", l.name,
               {l.name + ".gamma", l.name + ".beta", l.name + ".running_mean", l.name + ".running_var"},
               {{"epsilon", l.args.at("eps").get<float>()}});
    }
};

}  // namespace

const LayerKind& batch_norm_kind() {
    static const BatchNormKind kind;
    return kind;
}

}  // namespace cvtl
