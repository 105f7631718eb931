// Kind conv2d: a square 2-D convolution with bias, optionally grouped (MobileNet's depthwise convolution
// has a group per channel) and followed by a fused ReLU.
#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/conv2d.hpp"
#include "pipeline/engine/layers/window.hpp"
#include "pipeline/core/error.hpp"

#include <opencv2/dnn/all_layers.hpp>

#include <cmath>

namespace cvtl {
namespace {

// The convolution's weights after folding a per-channel affine map y = scale * x + shift after it.
void fold_channel_affine(const cv::Mat& scale, const cv::Mat& shift, cv::Mat& weights, cv::Mat& bias) {
    const size_t out = bias.total(), per = weights.total() / out;
    for (size_t o = 0; o < out; ++o) {
        const float s = scale.ptr<float>()[o];
        float* row = weights.ptr<float>() + o * per;
        for (size_t i = 0; i < per; ++i) row[i] *= s;
        bias.ptr<float>()[o] = bias.ptr<float>()[o] * s + shift.ptr<float>()[o];
    }
}

// A conv2d's arguments: input and output channels, square kernel, stride, symmetric padding, whether a
// ReLU is fused after it, and the groups (absent in runs from before grouped convolutions: 1).
struct Conv2dArgs {
    int in = 0, out = 0, kernel = 0, stride = 1, pad = 0;
    bool relu = false;
    int groups = 1;

    static Conv2dArgs read(const nlohmann::json& a) {
        const ArgReader r(a, kind::conv2d);
        Conv2dArgs c{r.integer("in", 1),  r.integer("out", 1), r.integer("kernel", 1),   r.integer("stride", 1),
                     r.integer("pad", 0), r.flag("relu"),      r.integer("groups", 1, 1)};
        if (c.in % c.groups != 0 || c.out % c.groups != 0)
            throw Error("a conv2d's argument 'groups' must divide 'in' and 'out', found " + a.dump());
        return c;
    }
    nlohmann::json json() const {
        nlohmann::json j{{"in", in},         {"out", out}, {"kernel", kernel},
                         {"stride", stride}, {"pad", pad}, {"relu", relu}};
        if (groups != 1) j["groups"] = groups;
        return j;
    }
};

class Conv2dKind final : public LayerKind {
public:
    BlockRoles block_roles() const override { return {true, false}; }
    const char* name() const override { return kind::conv2d; }
    std::string layer_name(const std::string& block, int ordinal, int) const override {
        return block + "." + "conv" + std::to_string(ordinal);
    }
    std::vector<std::string> opencv_types() const override { return {"Convolution"}; }
    bool fuses_relu() const override { return true; }

    Translation translate(cv::dnn::Layer& layer, const std::vector<int>& in) const override {
        auto* conv = dynamic_cast<cv::dnn::ConvolutionLayer*>(&layer);
        const std::string where = "layer " + layer.name + " (" + layer.type + ")";
        if (!conv || layer.blobs.empty()) throw Error(where + " has no weights cvtl can read");
        const cv::Mat& w = layer.blobs[0];  // [O, I, k, k]
        const int k = square_param(conv->kernel_size, "kernel", layer.name);
        const int stride = conv->strides.empty() ? 1 : square_param(conv->strides, "stride", layer.name);
        const int pad = conv->pads_begin.empty() ? 0 : square_param(conv->pads_begin, "padding", layer.name);
        // cv::dnn keeps the groups only in the weights' shape: [O, I / groups, k, k].
        const int groups = w.dims == 4 && w.size[1] > 0 && in[0] % w.size[1] == 0 ? in[0] / w.size[1] : 0;
        if (conv->pads_end != conv->pads_begin ||
            (!conv->dilations.empty() && square_param(conv->dilations, "dilation", layer.name) != 1) || groups < 1 ||
            w.size[0] % groups != 0)
            throw Error(where + ": only convolutions with symmetric padding and no dilation are trainable");
        const int out = w.size[0];
        return {name(),
                Conv2dArgs{in[0], out, k, stride, pad, false, groups}.json(),
                {{"weights", reshaped_copy(w, {out, in[0] / groups, k, k})}, {"bias", bias_or_zero(layer, out)}}};
    }

    std::vector<int> output_shape(const nlohmann::json& args, const std::vector<int>& in) const override {
        const Conv2dArgs a = Conv2dArgs::read(args);
        if (in.size() != 3 || in[0] != a.in)
            throw Error("a convolution needs [" + std::to_string(a.in) + ", H, W] inputs");
        return {a.out, window_output_size(in[1], a.kernel, a.stride, a.pad),
                window_output_size(in[2], a.kernel, a.stride, a.pad)};
    }

    std::unique_ptr<Layer> make(const nlohmann::json& args) const override {
        const Conv2dArgs a = Conv2dArgs::read(args);
        return std::make_unique<Conv2d>(a.in, a.out, a.kernel, a.stride, a.pad, a.relu, a.groups);
    }

    // He-normal over fan-out with the ReLU gain, zero bias: torchvision's VGG, ResNet and MobileNetV2
    // initialisation (PyTorch's fan-out of a grouped convolution is out * k * k too).
    void initialise(const LayerSpec& l, std::mt19937_64& rng, WeightMap& w) const override {
        const Conv2dArgs a = Conv2dArgs::read(l.args);
        const int out = a.out, in = a.in / a.groups, k = a.kernel;
        cv::Mat weights(std::vector<int>{out, in, k, k}, CV_32F);
        std::normal_distribution<float> dist(0.0f, static_cast<float>(std::sqrt(2.0 / (out * k * k))));
        for (size_t i = 0; i < weights.total(); ++i) weights.ptr<float>()[i] = dist(rng);
        w[l.name + ".weights"] = weights;
        w[l.name + ".bias"] = filled(out, 0);
    }

    // Folds the channel-affine layers after it (batch norm, scale) and fuses a ReLU or clip after those:
    // one oneDNN primitive for the whole run of layers (when nothing else reads the values between).
    size_t plan(InferencePlan& plan, const std::vector<LayerSpec>& layers, size_t i) const override {
        const LayerSpec& l = layers[i];
        const Conv2dArgs a = Conv2dArgs::read(l.args);
        cv::Mat weights = plan.weights().at(l.name + ".weights").clone(),
                bias = plan.weights().at(l.name + ".bias").clone();
        size_t next = i + 1;
        for (; !a.relu && next < layers.size() && layer_kind(layers[next].type).is_channel_affine() &&
               reads_only_previous(layers, next);
             ++next) {
            cv::Mat scale, shift;
            layer_kind(layers[next].type).channel_affine(plan.weights(), layers[next], scale, shift);
            fold_channel_affine(scale, shift, weights, bias);
        }
        const FusedActivation after =
            a.relu ? FusedActivation{FusedActivation::Kind::relu} : fusable_activation(layers, next);
        plan.convolution(weights, bias, {a.kernel, a.stride, a.pad, a.groups}, after);
        return next - i + (!a.relu && after.kind != FusedActivation::Kind::none ? 1 : 0);
    }

    void export_onnx(OnnxGraph& g, const LayerSpec& l) const override {
        const Conv2dArgs a = Conv2dArgs::read(l.args);
        const int in = a.in / a.groups, out = a.out, k = a.kernel, s = a.stride, p = a.pad;
        g.initializer(l.name + ".weights", {out, in, k, k});
        g.initializer(l.name + ".bias", {out});
        std::map<std::string, OnnxGraph::Attribute> attributes{{"kernel_shape", std::vector<int>{k, k}},
                                                               {"strides", std::vector<int>{s, s}},
                                                               {"pads", std::vector<int>{p, p, p, p}}};
        if (a.groups != 1) attributes["group"] = a.groups;
        g.node("Conv", l.name, {l.name + ".weights", l.name + ".bias"}, attributes);
        if (a.relu) g.node("Relu", l.name + ".relu", {});
    }
};

}  // namespace

const LayerKind& conv2d_kind() {
    static const Conv2dKind kind;
    return kind;
}

}  // namespace cvtl
