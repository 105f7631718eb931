#include "plugin/block_map.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/core/error.hpp"

#include <opencv2/dnn/all_layers.hpp>

namespace cvtl {
namespace block_map_detail {

// Whether the layer kinds (pipeline/engine/kinds/) accept cv::dnn type `type` inside a block of
// convolutions (in_features) or in the classifier: the block maps keep no list of their own.
bool accepted(const std::string& type, bool in_features) {
    const LayerKind* kind = layer_kind_for_opencv(type);
    if (!kind) return false;
    const BlockRoles roles = kind->block_roles();
    return in_features ? roles.in_features : roles.in_classifier;
}

std::int64_t stored_values(cv::dnn::Net& net, int id) {
    std::int64_t n = 0;
    for (const cv::Mat& blob : net.getLayer(id)->blobs) n += static_cast<std::int64_t>(blob.total());
    return n;
}

std::vector<int> sample_shape(cv::dnn::Net& net, int id, int input_size) {
    std::vector<cv::dnn::MatShape> in, out;
    net.getLayerShapes(cv::dnn::MatShape{1, 3, input_size, input_size}, id, in, out);
    if (out.empty() || out[0].size() < 2) return {};
    return std::vector<int>(out[0].begin() + 1, out[0].end());
}

std::string join_types(const std::vector<std::string>& types) {
    std::string s;
    for (size_t i = 0; i < types.size() && i < 12; ++i) s += (i ? " " : "") + types[i];
    return types.size() > 12 ? s + " ..." : s;
}

std::vector<std::string> layer_types(cv::dnn::Net& net) {
    std::vector<std::string> types{"Input"};
    const size_t count = net.getLayerNames().size();
    for (size_t i = 0; i < count; ++i) types.push_back(net.getLayer(static_cast<int>(i + 1))->type);
    return types;
}

std::vector<std::vector<int>> layer_inputs(cv::dnn::Net& net) {
    std::vector<std::vector<int>> inputs{{}};
    const size_t count = net.getLayerNames().size();
    for (size_t i = 1; i <= count; ++i) {
        std::vector<int> ids;
        for (const cv::Ptr<cv::dnn::Layer>& in : net.getLayerInputs(static_cast<int>(i)))
            ids.push_back(std::max(0, net.getLayerId(in->name)));  // the input layer's id is 0
        inputs.push_back(ids);
    }
    return inputs;
}

}  // namespace block_map_detail

namespace {

using namespace block_map_detail;

bool is_max_pool(cv::dnn::Net& net, int id) {
    auto* pool = dynamic_cast<cv::dnn::PoolingLayer*>(net.getLayer(id).get());
    return pool && pool->type == kOpenCvMaxPool;
}

}  // namespace

bool BlockMap::has_tap(const std::string& name) const {
    for (const Tap& t : taps)
        if (t.name == name) return true;
    return false;
}

const Tap& BlockMap::tap(const std::string& name) const {
    for (const Tap& t : taps)
        if (t.name == name) return t;
    std::string known;
    for (const Tap& t : taps) known += (known.empty() ? "" : ",") + t.name;
    throw Error("unknown tap '" + name + "': this model has " + known);
}

BlockMap map_vgg_blocks(cv::dnn::Net& net, int input_size, const std::string& model_label) {
    if (input_size <= 0) throw Error("model " + model_label + " does not declare its input size; pass {size} N");
    BlockMap map;
    map.input_size = input_size;
    const std::vector<cv::String> names = net.getLayerNames();
    map.layer_types = layer_types(net);
    map.layer_inputs = layer_inputs(net);
    const int last = static_cast<int>(names.size());
    auto name_of = [&](int id) { return std::string(names[static_cast<size_t>(id - 1)]); };
    auto not_vgg = [&](const std::string& what) {
        return Error(
            "model " + model_label + " is not VGG-shaped: " + what +
            " (expected 5 blocks of convolutions each ending in a max-pool, then fully connected layers; layers: " +
            join_types(std::vector<std::string>(map.layer_types.begin() + 1, map.layer_types.end())) + ")");
    };

    std::vector<int> pools;
    for (int id = 1; id <= last; ++id)
        if (opencv_type_is(map.layer_types[id], kind::max_pool) && is_max_pool(net, id)) pools.push_back(id);
    if (pools.size() != 5) throw not_vgg("found " + std::to_string(pools.size()) + " max-pool layers");

    map.taps.push_back({tap::input, 0, "", {3, input_size, input_size}});
    int first = 1;
    for (int b = 0; b < 5; ++b) {
        Block block{"block" + std::to_string(b + 1), first, pools[b], 0, 0};
        for (int id = first; id <= pools[b]; ++id) {
            const std::string& type = map.layer_types[id];
            if (!accepted(type, true) || (opencv_type_is(type, kind::max_pool) && id != pools[b]))
                throw not_vgg("layer " + name_of(id) + " of type " + type + " inside " + block.name);
            block.convolutions += opencv_type_is(type, kind::conv2d);
            block.parameters += stored_values(net, id);
        }
        if (block.convolutions == 0) throw not_vgg(block.name + " has no convolution");
        map.taps.push_back(
            {tap::block_output(b + 1), pools[b], name_of(pools[b]), sample_shape(net, pools[b], input_size)});
        map.blocks.push_back(block);
        first = pools[b] + 1;
    }

    Block classifier{"classifier", first, last, 0, 0};
    std::vector<int> fully_connected;
    for (int id = first; id <= last; ++id) {
        const std::string& type = map.layer_types[id];
        if (!accepted(type, false)) throw not_vgg("layer " + name_of(id) + " of type " + type + " in the classifier");
        if (opencv_type_is(type, kind::linear)) fully_connected.push_back(id);
        classifier.parameters += stored_values(net, id);
    }
    classifier.convolutions = static_cast<int>(fully_connected.size());
    if (fully_connected.empty()) throw not_vgg("no fully connected layer after the fifth max-pool");
    map.blocks.push_back(classifier);

    // fc6/fc7 are the hidden layers' outputs after their ReLU.
    for (size_t k = 0; k + 1 < fully_connected.size() && k < 2; ++k) {
        int id = fully_connected[k];
        if (id + 1 <= last && opencv_type_is(map.layer_types[id + 1], kind::relu)) ++id;
        map.taps.push_back({tap::hidden(static_cast<int>(k) + 1), id, name_of(id), sample_shape(net, id, input_size)});
    }
    const int logits = fully_connected.back();
    map.taps.push_back({tap::logits, logits, name_of(logits), sample_shape(net, logits, input_size)});
    return map;
}

}  // namespace cvtl

namespace cvtl {

BlockMap map_blocks(cv::dnn::Net& net, int input_size, const std::string& model_label) {
    if (input_size <= 0) throw Error("model " + model_label + " does not declare its input size; pass {size} N");
    int max_pools = 0;
    const std::vector<std::string> types = block_map_detail::layer_types(net);
    for (size_t id = 1; id < types.size(); ++id)
        max_pools += opencv_type_is(types[id], kind::max_pool) && is_max_pool(net, static_cast<int>(id));
    return max_pools == 5 ? map_vgg_blocks(net, input_size, model_label)
                          : map_graph_blocks(net, input_size, model_label);
}

}  // namespace cvtl
