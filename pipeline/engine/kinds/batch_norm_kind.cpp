// Kind batch_norm: per-channel normalisation with running statistics (PyTorch's BatchNorm2d).
#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/batch_norm2d.hpp"
#include "pipeline/core/error.hpp"

#include <opencv2/dnn/all_layers.hpp>

#include <cmath>

namespace cvtl {
namespace {

// 1 / the factor of a Caffe BatchNorm's third blob (0 stands for 1, as in Caffe); 1 for other sources.
float caffe_average_factor(const cv::dnn::Layer& layer, const cv::dnn::BatchNormLayer& bn) {
    if (bn.hasWeights || bn.hasBias || layer.blobs.size() != 3 || layer.blobs[2].total() != 1) return 1.0f;
    const float factor = layer.blobs[2].ptr<float>()[0];
    if (!std::isfinite(factor) || factor < 0)
        throw Error("layer " + layer.name + " (" + layer.type + ") has a moving-average factor of " +
                    std::to_string(factor) + "; the model file is damaged");
    return factor == 0 ? 1.0f : 1.0f / factor;
}

// A batch norm's arguments: channels, the epsilon added to the variance, the running statistics' momentum.
struct BatchNormArgs {
    int channels = 0;
    float eps = 1e-5f, momentum = 0.1f;

    static BatchNormArgs read(const nlohmann::json& a) {
        const ArgReader r(a, kind::batch_norm);
        return {r.integer("channels", 1), r.number("eps", 0.0f, 1.0f), r.number("momentum", 0.0f, 1.0f)};
    }
    nlohmann::json json() const { return {{"channels", channels}, {"eps", eps}, {"momentum", momentum}}; }
};

class BatchNormKind final : public ChannelAffineKind {
public:
    BlockRoles block_roles() const override { return {true, false}; }
    const char* name() const override { return kind::batch_norm; }
    std::string layer_name(const std::string& block, int ordinal, int) const override {
        return block + "." + "bn" + std::to_string(ordinal);
    }
    std::vector<std::string> opencv_types() const override { return {"BatchNorm"}; }

    // cv::dnn keeps [mean, var, (scale), (shift)], each with C values. A Caffe BatchNorm, which has no
    // scale or shift, keeps a third blob: the factor its running sums are divided by (Caffe stores
    // sums, not averages; OpenCV divides at inference and leaves the blobs as read).
    Translation translate(cv::dnn::Layer& layer, const std::vector<int>& in) const override {
        auto* bn = dynamic_cast<cv::dnn::BatchNormLayer*>(&layer);
        const std::string where = "layer " + layer.name + " (" + layer.type + ")";
        const int c = in[0];
        if (!bn || layer.blobs.size() < 2) throw Error(where + " has no statistics cvtl can read");
        if (layer.blobs.size() < 2 + static_cast<size_t>(bn->hasWeights) + static_cast<size_t>(bn->hasBias))
            throw Error(where + " lacks the scale or shift it declares");
        size_t next = 2;
        Translation t{name(), BatchNormArgs{c, bn->epsilon, 0.1f}.json(), {}};
        const float factor = caffe_average_factor(layer, *bn);
        t.values["running_mean"] = reshaped_copy(layer.blobs[0], {c}) * factor;
        t.values["running_var"] = reshaped_copy(layer.blobs[1], {c}) * factor;
        t.values["gamma"] = bn->hasWeights ? reshaped_copy(layer.blobs[next++], {c}) : filled(c, 1);
        t.values["beta"] = bn->hasBias ? reshaped_copy(layer.blobs[next], {c}) : filled(c, 0);
        return t;
    }

    std::vector<int> output_shape(const nlohmann::json& a, const std::vector<int>& in) const override {
        const int c = BatchNormArgs::read(a).channels;
        if (in.empty() || in[0] != c) throw Error("a batch norm needs " + std::to_string(c) + " channels");
        return in;
    }

    std::unique_ptr<Layer> make(const nlohmann::json& a) const override {
        const BatchNormArgs b = BatchNormArgs::read(a);
        return std::make_unique<BatchNorm2d>(b.channels, b.eps, b.momentum);
    }

    void initialise(const LayerSpec& l, std::mt19937_64&, WeightMap& w) const override {
        const int c = BatchNormArgs::read(l.args).channels;
        w[l.name + ".gamma"] = filled(c, 1);
        w[l.name + ".beta"] = filled(c, 0);
        w[l.name + ".running_mean"] = filled(c, 0);
        w[l.name + ".running_var"] = filled(c, 1);
    }

    // y = gamma (x - mean) / sqrt(var + eps) + beta, as inference computes it.
    void channel_affine(const WeightMap& w, const LayerSpec& bn, cv::Mat& scale, cv::Mat& shift) const override {
        const BatchNormArgs a = BatchNormArgs::read(bn.args);
        const int c = a.channels;
        const float eps = a.eps;
        const float* gamma = w.at(bn.name + ".gamma").ptr<float>();
        const float* beta = w.at(bn.name + ".beta").ptr<float>();
        const float* mean = w.at(bn.name + ".running_mean").ptr<float>();
        const float* var = w.at(bn.name + ".running_var").ptr<float>();
        scale = filled(c, 0);
        shift = filled(c, 0);
        for (int o = 0; o < c; ++o) {
            scale.ptr<float>()[o] = gamma[o] / std::sqrt(var[o] + eps);
            shift.ptr<float>()[o] = beta[o] - mean[o] * scale.ptr<float>()[o];
        }
    }

    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        const int c = BatchNormArgs::read(l.args).channels;
        for (const char* p : {".gamma", ".beta", ".running_mean", ".running_var"}) g.initializer(l.name + p, {c});
        g.node("BatchNormalization", l.name,
               {l.name + ".gamma", l.name + ".beta", l.name + ".running_mean", l.name + ".running_var"},
               {{"epsilon", BatchNormArgs::read(l.args).eps}});
    }
};

}  // namespace

const LayerKind& batch_norm_kind() {
    static const BatchNormKind kind;
    return kind;
}

}  // namespace cvtl
