// Kind scale: a learned per-channel affine map, y = weights[c] * x + bias[c] (Caffe's Scale layer, which
// Caffe models put after every BatchNorm because Caffe's BatchNorm has no gamma and beta of its own).
//
// This file is the whole kind, trainable layer included, to keep the registry's promise that a kind is
// one file (docs/architecture.md, "Layer kinds"): the layer is small enough not to need oneDNN.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"

#include <opencv2/dnn/all_layers.hpp>

namespace cvtl {
namespace {

constexpr const char* kScale = "scale";

// src [N, C, ...] -> dst = weights[c] * src + bias[c]; params, in order: weights [C] (starts at 1) and
// bias [C] (starts at 0), both decay_mult 0, as batch norm's gamma and beta, whose role they play.
class ChannelScale final : public Layer {
public:
    explicit ChannelScale(int channels)
        : weights_(make_param("weights", {channels}, 1.0f, 0.0f)), bias_(make_param("bias", {channels}, 0.0f, 0.0f)) {
        check_at_least(channels, 1, kScale, "channels");
    }

    std::string type() const override { return kScale; }
    std::vector<int> setup(const std::vector<int>& src_shape) override {
        if (src_shape.empty() || src_shape[0] != static_cast<int>(weights_.value.total()))
            throw Error("scale expects " + std::to_string(weights_.value.total()) + " channels, found " +
                        shape_string(src_shape));
        shape_ = src_shape;
        return shape_;
    }

    void forward(const cv::Mat& src, cv::Mat& dst, bool) override {
        const int n = batch_size(src, shape_, kScale);
        check_params();
        make_output(dst, n, shape_, src);
        const float *in = src.ptr<float>(), *w = weights_.value.ptr<float>(), *b = bias_.value.ptr<float>();
        float* out = dst.ptr<float>();
        const size_t plane = plane_size();
        for (size_t row = 0; row < static_cast<size_t>(n) * channels(); ++row) {
            const size_t c = row % channels();
            for (size_t i = row * plane; i < (row + 1) * plane; ++i) out[i] = w[c] * in[i] + b[c];
        }
    }

    void backward(const cv::Mat& src, const cv::Mat&, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override {
        const int n = batch_size(src, shape_, kScale);
        check_batch(diff_dst, n, shape_, "scale diff_dst");
        check_params();
        if (need_diff_src) make_output(diff_src, n, shape_, diff_dst);
        // Sums in double: a channel of a 224-pixel batch adds millions of terms.
        std::vector<double> dw(channels(), 0.0), db(channels(), 0.0);
        const float *in = src.ptr<float>(), *dy = diff_dst.ptr<float>(), *w = weights_.value.ptr<float>();
        const size_t plane = plane_size();
        for (size_t row = 0; row < static_cast<size_t>(n) * channels(); ++row) {
            const size_t c = row % channels();
            for (size_t i = row * plane; i < (row + 1) * plane; ++i) {
                dw[c] += static_cast<double>(dy[i]) * in[i];
                db[c] += dy[i];
                if (need_diff_src) diff_src.ptr<float>()[i] = dy[i] * w[c];
            }
        }
        for (size_t c = 0; c < channels(); ++c) {
            weights_.grad.ptr<float>()[c] = static_cast<float>(dw[c]);
            bias_.grad.ptr<float>()[c] = static_cast<float>(db[c]);
        }
    }

    std::vector<Param*> params() override { return {&weights_, &bias_}; }

private:
    size_t channels() const { return weights_.value.total(); }
    size_t plane_size() const { return static_cast<size_t>(element_count(shape_)) / channels(); }
    void check_params() {
        check_param(weights_, {static_cast<int>(channels())}, kScale);
        check_param(bias_, {static_cast<int>(channels())}, kScale);
    }

    Param weights_, bias_;
    std::vector<int> shape_;  // one sample: [C, ...]
};

// One per-channel blob of a cv::dnn Scale layer as [C]; a single value applies to every channel.
cv::Mat per_channel(const cv::Mat& blob, int c, const std::string& where) {
    if (blob.total() == 1) return filled(c, blob.ptr<float>()[0]);
    if (blob.total() != static_cast<size_t>(c))
        throw Error(where + " has " + std::to_string(blob.total()) + " values for " + std::to_string(c) + " channels");
    return reshaped_copy(blob, {c});
}

// A scale's one argument: its channels.
int channels_of(const nlohmann::json& args) { return ArgReader(args, kScale).integer("channels", 1); }

class ScaleKind final : public ChannelAffineKind {
public:
    const char* name() const override { return kScale; }
    std::string layer_name(const std::string& block, int ordinal, int) const override {
        return block + ".scale" + std::to_string(ordinal);
    }
    std::vector<std::string> opencv_types() const override { return {"Scale"}; }
    BlockRoles block_roles() const override { return {true, false}; }

    // A Scale whose factors are a second input rather than learned blobs, or another of cv::dnn's
    // modes (it also stands for ONNX's elementwise Mul and Add), is not a per-channel affine map cvtl
    // can train.
    Translation translate(cv::dnn::Layer& layer, const std::vector<int>& in) const override {
        auto* scale = dynamic_cast<cv::dnn::ScaleLayer*>(&layer);
        const std::string where = "layer " + layer.name + " (" + layer.type + ")";
        if (!scale || layer.blobs.empty() || scale->axis != 1 || scale->mode != "scale")
            throw Error(
                where + ": only a learned per-channel scale (axis 1) is trainable; found " +
                (scale ? "axis " + std::to_string(scale->axis) + ", mode '" + scale->mode + "'" : "another layer") +
                ", " + std::to_string(layer.blobs.size()) + " learned blobs");
        if (scale->hasBias && layer.blobs.size() < 2) throw Error(where + " declares a bias it does not hold");
        const int c = in[0];
        return {name(),
                {{"channels", c}},
                {{"weights", per_channel(layer.blobs[0], c, where)},
                 {"bias", scale->hasBias ? per_channel(layer.blobs[1], c, where) : filled(c, 0)}}};
    }

    std::vector<int> output_shape(const nlohmann::json& a, const std::vector<int>& in) const override {
        if (in.empty() || in[0] != channels_of(a))
            throw Error("a scale needs " + std::to_string(channels_of(a)) + " channels");
        return in;
    }
    std::unique_ptr<Layer> make(const nlohmann::json& a) const override {
        return std::make_unique<ChannelScale>(channels_of(a));
    }
    void initialise(const LayerSpec& l, std::mt19937_64&, WeightMap& w) const override {
        const int c = channels_of(l.args);
        w[l.name + ".weights"] = filled(c, 1);
        w[l.name + ".bias"] = filled(c, 0);
    }

    void channel_affine(const WeightMap& w, const LayerSpec& l, cv::Mat& scale, cv::Mat& shift) const override {
        scale = w.at(l.name + ".weights").clone();
        shift = w.at(l.name + ".bias").clone();
    }

    // ONNX has no per-channel scale operator that stock OpenCV 4.6 imports as one; a BatchNormalization
    // with mean 0, variance 1 and epsilon 0 is exactly weights * x + bias, and every runtime reads it.
    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        const int c = channels_of(l.args);
        g.initializer(l.name + ".weights", {c});
        g.initializer(l.name + ".bias", {c});
        g.constant(l.name + ".zero_mean", filled(c, 0));
        g.constant(l.name + ".unit_var", filled(c, 1));
        g.node("BatchNormalization", l.name,
               {l.name + ".weights", l.name + ".bias", l.name + ".zero_mean", l.name + ".unit_var"},
               {{"epsilon", 0.0f}});
    }
};

}  // namespace

const LayerKind& scale_kind() {
    static const ScaleKind kind;
    return kind;
}

}  // namespace cvtl
