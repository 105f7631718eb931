#include "plugin/head_builder.hpp"

#include "plugin/error.hpp"
#include "pipeline/engine/layers/window.hpp"

#include <opencv2/dnn/all_layers.hpp>


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

// Translation state: the network being built and what the next layer sees. One method per cv::dnn
// layer kind; each returns how many following source layers it absorbed (a fused ReLU).
struct Builder {
    cv::dnn::Net& net;
    const BlockMap& map;
    const HeadOptions& options;
    int last = 0, last_fc = 0;   // the last source layer to translate, and the source's output layer
    bool stop_early = false;     // building up to a tap (until_tap), not to the output
    Head head{};
    std::vector<int> shape{};    // one sample's current shape
    int conv_in_block = 0, bn_in_block = 0;
    int fc_index = 5;            // fully connected layers are named fc6, fc7, ... as in VGG papers

    std::string block_of(int id) const {
        for (const Block& b : map.blocks)
            if (id >= b.first_layer && id <= b.last_layer) return b.name;
        return "classifier";
    }
    bool next_is(int id, const char* type) const { return id + 1 <= last && map.layer_types[static_cast<size_t>(id + 1)] == type; }
    void add(const std::string& name, const std::string& block, const std::string& type, nlohmann::json args) {
        head.spec.layers.push_back({name, block, type, std::move(args)});
    }
    static cv::Mat bias_or_zero(const cv::dnn::Layer& layer, int out) {
        return layer.blobs.size() > 1 ? as_shape(layer.blobs[1], {out}) : cv::Mat(std::vector<int>{out}, CV_32F, cv::Scalar(0));
    }

    int convolution(int id, cv::dnn::Layer& layer, const std::string& block, const std::string& where) {
        auto* conv = dynamic_cast<cv::dnn::ConvolutionLayer*>(&layer);
        if (!conv || layer.blobs.empty()) throw Error(where + " has no weights cvtl can read");
        const cv::Mat& w = layer.blobs[0];  // [O, I, k, k]
        const int k = square(conv->kernel_size, "kernel", layer.name);
        const int stride = conv->strides.empty() ? 1 : square(conv->strides, "stride", layer.name);
        const int pad = conv->pads_begin.empty() ? 0 : square(conv->pads_begin, "padding", layer.name);
        if (conv->pads_end != conv->pads_begin || (!conv->dilations.empty() && square(conv->dilations, "dilation", layer.name) != 1) ||
            w.dims != 4 || w.size[1] != shape[0])
            throw Error(where + ": only plain convolutions (symmetric padding, no dilation, no groups) are trainable");
        const int out = w.size[0];
        const bool fused_relu = next_is(id, "ReLU") && !next_is(id, "BatchNorm");
        const std::string name = block + ".conv" + std::to_string(++conv_in_block);
        add(name, block, "conv2d", {{"in", shape[0]}, {"out", out}, {"kernel", k}, {"stride", stride}, {"pad", pad}, {"relu", fused_relu}});
        head.source_weights[name + ".weights"] = as_shape(w, {out, shape[0], k, k});
        head.source_weights[name + ".bias"] = bias_or_zero(layer, out);
        shape = {out, window_output_size(shape[1], k, stride, pad), window_output_size(shape[2], k, stride, pad)};
        return fused_relu ? 1 : 0;
    }

    int batch_norm(int id, cv::dnn::Layer& layer, const std::string& block, const std::string& where) {
        auto* bn = dynamic_cast<cv::dnn::BatchNormLayer*>(&layer);
        const int c = shape[0];
        if (!bn || layer.blobs.size() < 2) throw Error(where + " has no statistics cvtl can read");
        const std::string name = block + ".bn" + std::to_string(++bn_in_block);
        add(name, block, "batch_norm", {{"channels", c}, {"eps", bn->epsilon}, {"momentum", 0.1}});
        // cv::dnn keeps [mean, var, (scale), (shift)], each with C values.
        head.source_weights[name + ".running_mean"] = as_shape(layer.blobs[0], {c});
        head.source_weights[name + ".running_var"] = as_shape(layer.blobs[1], {c});
        size_t next = 2;
        if (layer.blobs.size() < 2 + static_cast<size_t>(bn->hasWeights) + static_cast<size_t>(bn->hasBias))
            throw Error(where + " lacks the scale or shift it declares");
        head.source_weights[name + ".gamma"] = bn->hasWeights ? as_shape(layer.blobs[next++], {c}) : cv::Mat(std::vector<int>{c}, CV_32F, cv::Scalar(1));
        head.source_weights[name + ".beta"] = bn->hasBias ? as_shape(layer.blobs[next], {c}) : cv::Mat(std::vector<int>{c}, CV_32F, cv::Scalar(0));
        if (!next_is(id, "ReLU")) return 0;
        add(block + ".relu" + std::to_string(bn_in_block), block, "relu", nlohmann::json::object());
        return 1;
    }

    void pooling(cv::dnn::Layer& layer, const std::string& block, const std::string& where) {
        auto* pool = dynamic_cast<cv::dnn::PoolingLayer*>(&layer);
        if (!pool) throw Error(where + " is not a pooling layer cvtl can read");
        const bool global = pool->globalPooling;
        const int k = global ? shape[1] : square(pool->kernel_size, "kernel", layer.name);
        const int stride = global ? 1 : square(pool->strides, "stride", layer.name);
        const int pad = global || pool->pads_begin.empty() ? 0 : square(pool->pads_begin, "padding", layer.name);
        if (global && shape[1] != shape[2]) throw Error(where + ": global pooling of a non-square map");
        const bool max = pool->type == kOpenCvMaxPool;
        // Average pooling is trained and exported in floor mode only: refuse a ceil mode that changes the size.
        if (!max && pool->ceilMode && window_output_size(shape[1], k, stride, pad, true) != window_output_size(shape[1], k, stride, pad, false))
            throw Error(where + ": average pooling in ceil mode is not supported for training");
        if (max) add(block + ".pool", block, "max_pool", {{"kernel", k}, {"stride", stride}, {"pad", pad}, {"ceil", pool->ceilMode}});
        else add(block + ".avgpool", block, "avg_pool", {{"kernel", k}, {"stride", stride}, {"pad", pad}, {"include_pad", pool->avePoolPaddedArea}});
        const bool ceil = max && pool->ceilMode;
        shape = {shape[0], window_output_size(shape[1], k, stride, pad, ceil), window_output_size(shape[2], k, stride, pad, ceil)};
    }

    void flatten() {
        if (shape.size() == 1) return;
        add("classifier.flatten", "classifier", "flatten", nlohmann::json::object());
        shape = {shape[0] * shape[1] * shape[2]};
    }

    int inner_product(int id, cv::dnn::Layer& layer, const std::string& where) {
        flatten();
        if (layer.blobs.empty()) throw Error(where + " has no weights cvtl can read");
        const cv::Mat& w = layer.blobs[0];  // [out, in]
        const int in = shape[0], out = w.size[0];
        if (w.total() != static_cast<size_t>(in) * static_cast<size_t>(out))
            throw Error(where + " expects " + std::to_string(w.total() / static_cast<size_t>(std::max(out, 1))) + " inputs, the layer before gives " +
                        std::to_string(in));
        const std::string name = "classifier.fc" + std::to_string(++fc_index);
        if (id == last_fc && !options.keep_source_output && !stop_early) {
            add(name, "classifier", "linear", {{"in", in}, {"out", options.classes}, {"relu", false}});
            head.new_layers.push_back(name);
            shape = {options.classes};
            return 0;
        }
        const bool relu = next_is(id, "ReLU");
        add(name, "classifier", "linear", {{"in", in}, {"out", out}, {"relu", relu}});
        head.source_weights[name + ".weights"] = as_shape(w, {out, in});
        head.source_weights[name + ".bias"] = bias_or_zero(layer, out);
        if (options.dropout > 0 && id + (relu ? 1 : 0) < last_fc && !stop_early)
            add("classifier.dropout" + std::to_string(fc_index), "classifier", "dropout",
                {{"p", options.dropout}, {"seed", options.seed * 1000 + static_cast<std::uint64_t>(fc_index)}});
        shape = {out};
        return relu ? 1 : 0;
    }

    // Translates source layer `id`; returns how many following layers it absorbed.
    int translate(int id, const std::string& block) {
        cv::Ptr<cv::dnn::Layer> layer = net.getLayer(id);
        const std::string& type = map.layer_types[static_cast<size_t>(id)];
        const std::string where = "layer " + layer->name + " (" + type + ")";
        if (type == "Convolution") return convolution(id, *layer, block, where);
        if (type == "BatchNorm") return batch_norm(id, *layer, block, where);
        if (type == "ReLU") add(block + ".relu" + std::to_string(id), block, "relu", nlohmann::json::object());
        else if (type == "Pooling") pooling(*layer, block, where);
        else if (type == "Flatten" || type == "Reshape") flatten();
        else if (type == "InnerProduct") return inner_product(id, *layer, where);
        else if (type != "Dropout" && type != "Identity") throw Error(where + " cannot be trained by cvtl");
        return 0;
    }
};

}  // namespace

Head build_head(cv::dnn::Net& net, const BlockMap& map, const HeadOptions& options) {
    if (options.classes < 2 && !options.keep_source_output && options.until_tap.empty())
        throw Error("the new classifier needs at least 2 classes, got " + std::to_string(options.classes));
    const Tap& tap = map.tap(options.from_tap);
    if (tap.name == "fc6" || tap.name == "fc7" || tap.name == "logits")
        throw Error("tap " + tap.name + " is inside the classifier; train from input or pool1..pool5, or use a linear probe (--head linear)");
    Builder b{net, map, options};
    b.shape = tap.shape;
    b.head.spec.input_shape = tap.shape;
    b.head.spec.input_tap = tap.name;
    b.last_fc = map.tap("logits").layer_id;
    b.stop_early = !options.until_tap.empty();
    b.last = b.stop_early ? map.tap(options.until_tap).layer_id : b.last_fc;
    std::string current_block;
    for (int id = tap.layer_id + 1; id <= b.last; ++id) {
        const std::string block = b.block_of(id);
        if (block != current_block) {
            current_block = block;
            b.conv_in_block = b.bn_in_block = 0;
        }
        id += b.translate(id, block);
    }
    return b.head;
}

Head build_linear_probe(const std::string& tap, const std::vector<int>& tap_shape, int classes) {
    if (classes < 2) throw Error("the new classifier needs at least 2 classes, got " + std::to_string(classes));
    Head head{};
    head.spec.input_shape = tap_shape;
    head.spec.input_tap = tap;
    int features = 1;
    for (int d : tap_shape) features *= d;
    if (tap_shape.size() > 1) head.spec.layers.push_back({"probe.flatten", "classifier", "flatten", nlohmann::json::object()});
    head.spec.layers.push_back({"probe.linear", "classifier", "linear", {{"in", features}, {"out", classes}, {"relu", false}}});
    head.new_layers.push_back("probe.linear");
    return head;
}

}  // namespace cvtl
