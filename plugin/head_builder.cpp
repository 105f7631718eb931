#include "plugin/head_builder.hpp"

#include "plugin/error.hpp"
#include "plugin/layers/batch_norm2d.hpp"
#include "plugin/layers/window.hpp"

#include <opencv2/dnn/all_layers.hpp>

#include <cmath>
#include <random>

namespace cvtl {
namespace {

int square(const std::vector<size_t>& v, const std::string& what, const std::string& layer) {
    if (v.empty()) return 0;
    for (size_t x : v)
        if (x != v[0]) throw Error("layer " + layer + " has a non-square " + what + "; cvtl trains square VGG layers only");
    return static_cast<int>(v[0]);
}

cv::Mat as_shape(const cv::Mat& blob, const std::vector<int>& shape) {
    cv::Mat copy = blob.clone();
    CV_Assert(copy.type() == CV_32F);
    return copy.reshape(1, shape);
}

// Translation state: the network being built and what the next layer sees.
struct Builder {
    cv::dnn::Net& net;
    const BlockMap& map;
    Head head;
    std::vector<int> shape;  // one sample's current shape
    int conv_in_block = 0, bn_in_block = 0;
    int fc_index = 5;        // fully connected layers are named fc6, fc7, ... as in VGG papers

    std::string block_of(int id) const {
        for (const Block& b : map.blocks)
            if (id >= b.first_layer && id <= b.last_layer) return b.name;
        return "classifier";
    }
    void add(const std::string& name, const std::string& block, const std::string& type, nlohmann::json args) {
        head.spec.layers.push_back({name, block, type, std::move(args)});
    }
};

}  // namespace

Head build_head(cv::dnn::Net& net, const BlockMap& map, const HeadOptions& options) {
    if (options.classes < 2 && !options.keep_source_output && options.until_tap.empty())
        throw Error("the new classifier needs at least 2 classes, got " + std::to_string(options.classes));
    const Tap& tap = map.tap(options.from_tap);
    Builder b{net, map, {}, tap.shape};
    b.head.spec.input_shape = tap.shape;
    b.head.spec.input_tap = tap.name;

    if (tap.name == "fc6" || tap.name == "fc7" || tap.name == "logits")
        throw Error("tap " + tap.name + " is inside the classifier; train from input or pool1..pool5, or use a linear probe (--head linear)");

    const int last_fc = map.tap("logits").layer_id;
    const bool stop_early = !options.until_tap.empty();
    const int last = stop_early ? map.tap(options.until_tap).layer_id : last_fc;
    std::string current_block;
    for (int id = tap.layer_id + 1; id <= last; ++id) {
        cv::Ptr<cv::dnn::Layer> layer = net.getLayer(id);
        const std::string& type = map.layer_types[static_cast<size_t>(id)];
        const std::string block = b.block_of(id);
        if (block != current_block) {
            current_block = block;
            b.conv_in_block = b.bn_in_block = 0;
        }
        const bool relu_next = id + 1 <= last && map.layer_types[static_cast<size_t>(id + 1)] == "ReLU";
        const std::string where = "layer " + layer->name + " (" + type + ")";

        if (type == "Convolution") {
            auto* conv = dynamic_cast<cv::dnn::ConvolutionLayer*>(layer.get());
            if (!conv || layer->blobs.empty()) throw Error(where + " has no weights cvtl can read");
            const cv::Mat& w = layer->blobs[0];  // [O, I, k, k]
            const int k = square(conv->kernel_size, "kernel", layer->name);
            const int stride = conv->strides.empty() ? 1 : square(conv->strides, "stride", layer->name);
            const int pad = conv->pads_begin.empty() ? 0 : square(conv->pads_begin, "padding", layer->name);
            if (conv->pads_end != conv->pads_begin || (!conv->dilations.empty() && square(conv->dilations, "dilation", layer->name) != 1) ||
                w.dims != 4 || w.size[1] != b.shape[0])
                throw Error(where + ": only plain convolutions (symmetric padding, no dilation, no groups) are trainable");
            const int out = w.size[0];
            const bool bn_next = id + 1 <= last && map.layer_types[static_cast<size_t>(id + 1)] == "BatchNorm";
            const std::string name = block + ".conv" + std::to_string(++b.conv_in_block);
            b.add(name, block, "conv2d", {{"in", b.shape[0]}, {"out", out}, {"kernel", k}, {"stride", stride}, {"pad", pad},
                                          {"relu", relu_next && !bn_next}});
            b.head.source_weights[name + ".weights"] = as_shape(w, {out, b.shape[0], k, k});
            b.head.source_weights[name + ".bias"] = layer->blobs.size() > 1 ? as_shape(layer->blobs[1], {out}) : cv::Mat(std::vector<int>{out}, CV_32F, cv::Scalar(0));
            b.shape = {out, window_output_size(b.shape[1], k, stride, pad), window_output_size(b.shape[2], k, stride, pad)};
            if (relu_next && !bn_next) ++id;
        } else if (type == "BatchNorm") {
            auto* bn = dynamic_cast<cv::dnn::BatchNormLayer*>(layer.get());
            const int c = b.shape[0];
            if (!bn || layer->blobs.size() < 2) throw Error(where + " has no statistics cvtl can read");
            const std::string name = block + ".bn" + std::to_string(++b.bn_in_block);
            b.add(name, block, "batch_norm", {{"channels", c}, {"eps", bn->epsilon}, {"momentum", 0.1}});
            // cv::dnn keeps [mean, var, (scale), (shift)], each with C values.
            b.head.source_weights[name + ".running_mean"] = as_shape(layer->blobs[0], {c});
            b.head.source_weights[name + ".running_var"] = as_shape(layer->blobs[1], {c});
            size_t next = 2;
            b.head.source_weights[name + ".gamma"] = bn->hasWeights ? as_shape(layer->blobs[next++], {c}) : cv::Mat(std::vector<int>{c}, CV_32F, cv::Scalar(1));
            b.head.source_weights[name + ".beta"] = bn->hasBias ? as_shape(layer->blobs[next], {c}) : cv::Mat(std::vector<int>{c}, CV_32F, cv::Scalar(0));
            if (relu_next) {
                b.add(block + ".relu" + std::to_string(b.bn_in_block), block, "relu", nlohmann::json::object());
                ++id;
            }
        } else if (type == "ReLU") {
            b.add(block + ".relu" + std::to_string(id), block, "relu", nlohmann::json::object());
        } else if (type == "Pooling") {
            auto* pool = dynamic_cast<cv::dnn::PoolingLayer*>(layer.get());
            const bool global = pool->globalPooling;
            const int k = global ? b.shape[1] : square(pool->kernel_size, "kernel", layer->name);
            const int stride = global ? 1 : square(pool->strides, "stride", layer->name);
            const int pad = global || pool->pads_begin.empty() ? 0 : square(pool->pads_begin, "padding", layer->name);
            if (global && b.shape[1] != b.shape[2]) throw Error(where + ": global pooling of a non-square map");
            if (pool->type == kOpenCvMaxPool) {
                b.add(block + ".pool", block, "max_pool", {{"kernel", k}, {"stride", stride}, {"pad", pad}, {"ceil", pool->ceilMode}});
            } else {
                b.add(block + ".avgpool", block, "avg_pool", {{"kernel", k}, {"stride", stride}, {"pad", pad}, {"include_pad", pool->avePoolPaddedArea}});
            }
            const bool ceil = pool->type == kOpenCvMaxPool && pool->ceilMode;
            // Average pooling is trained and exported in floor mode only: refuse a ceil mode that changes the size.
            if (pool->type != kOpenCvMaxPool && pool->ceilMode &&
                window_output_size(b.shape[1], k, stride, pad, true) != window_output_size(b.shape[1], k, stride, pad, false))
                throw Error(where + ": average pooling in ceil mode is not supported for training");
            b.shape = {b.shape[0], window_output_size(b.shape[1], k, stride, pad, ceil), window_output_size(b.shape[2], k, stride, pad, ceil)};
        } else if (type == "Flatten" || type == "Reshape") {
            if (b.shape.size() > 1) {
                b.add("classifier.flatten", "classifier", "flatten", nlohmann::json::object());
                b.shape = {b.shape[0] * b.shape[1] * b.shape[2]};
            }
        } else if (type == "InnerProduct") {
            if (b.shape.size() != 1) {
                b.add("classifier.flatten", "classifier", "flatten", nlohmann::json::object());
                b.shape = {b.shape[0] * b.shape[1] * b.shape[2]};
            }
            const cv::Mat& w = layer->blobs[0];  // [out, in]
            const int in = b.shape[0];
            const int out = w.size[0];
            if (w.total() != static_cast<size_t>(in) * static_cast<size_t>(out))
                throw Error(where + " expects " + std::to_string(w.total() / static_cast<size_t>(out)) + " inputs, the layer before gives " + std::to_string(in));
            const std::string name = "classifier.fc" + std::to_string(++b.fc_index);
            if (id == last_fc && !options.keep_source_output && !stop_early) {
                b.add(name, "classifier", "linear", {{"in", in}, {"out", options.classes}, {"relu", false}});
                b.head.new_layers.push_back(name);
                b.shape = {options.classes};
            } else {
                b.add(name, "classifier", "linear", {{"in", in}, {"out", out}, {"relu", relu_next}});
                b.head.source_weights[name + ".weights"] = as_shape(w, {out, in});
                b.head.source_weights[name + ".bias"] = layer->blobs.size() > 1 ? as_shape(layer->blobs[1], {out}) : cv::Mat(std::vector<int>{out}, CV_32F, cv::Scalar(0));
                if (relu_next) ++id;
                if (options.dropout > 0 && id < last_fc && !stop_early)
                    b.add("classifier.dropout" + std::to_string(b.fc_index), "classifier", "dropout",
                          {{"p", options.dropout}, {"seed", options.seed * 1000 + static_cast<std::uint64_t>(b.fc_index)}});
                b.shape = {out};
            }
        } else if (type == "Dropout" || type == "Identity") {
            continue;
        } else {
            throw Error(where + " cannot be trained by cvtl");
        }
    }
    return b.head;
}

Head build_linear_probe(const std::string& tap, const std::vector<int>& tap_shape, int classes) {
    if (classes < 2) throw Error("the new classifier needs at least 2 classes, got " + std::to_string(classes));
    Head head;
    head.spec.input_shape = tap_shape;
    head.spec.input_tap = tap;
    int features = 1;
    for (int d : tap_shape) features *= d;
    if (tap_shape.size() > 1) head.spec.layers.push_back({"probe.flatten", "classifier", "flatten", nlohmann::json::object()});
    head.spec.layers.push_back({"probe.linear", "classifier", "linear", {{"in", features}, {"out", classes}, {"relu", false}}});
    head.new_layers.push_back("probe.linear");
    return head;
}

WeightMap fresh_weights(const NetworkSpec& spec, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto normal = [&](std::vector<int> shape, double stddev) {
        cv::Mat m(shape, CV_32F);
        std::normal_distribution<float> dist(0.0f, static_cast<float>(stddev));
        for (size_t i = 0; i < m.total(); ++i) m.ptr<float>()[i] = dist(rng);
        return m;
    };
    auto uniform = [&](std::vector<int> shape, double bound) {
        cv::Mat m(shape, CV_32F);
        std::uniform_real_distribution<float> dist(static_cast<float>(-bound), static_cast<float>(bound));
        for (size_t i = 0; i < m.total(); ++i) m.ptr<float>()[i] = dist(rng);
        return m;
    };
    auto filled = [](int n, float v) { return cv::Mat(std::vector<int>{n}, CV_32F, cv::Scalar(v)); };
    WeightMap w;
    for (const LayerSpec& l : spec.layers) {
        const auto& a = l.args;
        if (l.type == "conv2d") {
            const int out = a.at("out"), in = a.at("in"), k = a.at("kernel");
            w[l.name + ".weights"] = normal({out, in, k, k}, std::sqrt(2.0 / (out * k * k)));
            w[l.name + ".bias"] = filled(out, 0);
        } else if (l.type == "linear") {
            const int out = a.at("out"), in = a.at("in");
            // PyTorch's nn.Linear default, U(-1/sqrt(in), 1/sqrt(in)) for weights and bias: it keeps the
            // logits' scale at any width. torchvision's N(0, 0.01) was tuned for 4096-wide layers and
            // leaves a narrow classifier's logits near zero, where training stalls.
            const double bound = 1.0 / std::sqrt(static_cast<double>(in));
            w[l.name + ".weights"] = uniform({out, in}, bound);
            w[l.name + ".bias"] = uniform({out}, bound);
        } else if (l.type == "batch_norm") {
            const int c = a.at("channels");
            w[l.name + ".gamma"] = filled(c, 1);
            w[l.name + ".beta"] = filled(c, 0);
            w[l.name + ".running_mean"] = filled(c, 0);
            w[l.name + ".running_var"] = filled(c, 1);
        }
    }
    return w;
}

void load_weights(Network& network, const WeightMap& weights) {
    auto copy_into = [&](const std::string& name, cv::Mat& dst) {
        auto it = weights.find(name);
        if (it == weights.end()) throw Error("no initial value for parameter " + name);
        if (it->second.total() != dst.total())
            throw Error("parameter " + name + " expects " + std::to_string(dst.total()) + " values, found " + std::to_string(it->second.total()));
        std::copy_n(it->second.ptr<float>(), dst.total(), dst.ptr<float>());
    };
    for (auto& e : network.entries()) {
        for (Param* p : e.layer->params()) copy_into(e.spec.name + "." + p->name, p->value);
        if (auto* bn = dynamic_cast<BatchNorm2d*>(e.layer.get())) {
            copy_into(e.spec.name + ".running_mean", bn->running_mean());
            copy_into(e.spec.name + ".running_var", bn->running_var());
        }
    }
}

WeightMap save_weights(Network& network) {
    WeightMap w;
    for (auto& e : network.entries()) {
        for (Param* p : e.layer->params()) w[e.spec.name + "." + p->name] = p->value.clone();
        if (auto* bn = dynamic_cast<BatchNorm2d*>(e.layer.get())) {
            w[e.spec.name + ".running_mean"] = bn->running_mean().clone();
            w[e.spec.name + ".running_var"] = bn->running_var().clone();
        }
    }
    return w;
}

}  // namespace cvtl
