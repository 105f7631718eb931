// The block map of a globally pooled backbone (ResNet, MobileNetV2, ...), found from the graph's
// structure, never from layer names:
//
// 1. The features end at the global average pooling; the classifier is what follows it.
// 2. A block can only end at an articulation point: a layer every path from the input to the pooling
//    passes through (no edge jumps over it in cv::dnn's topological order). Inside a residual unit
//    nothing is one, since the shortcut spans the unit.
// 3. A block ends where the resolution drops: at the last articulation point before the drop, with two
//    adjustments that keep the downsampling layer with the blocks it belongs to:
//    - a parameter-free pooling that makes the drop ends the block it closes (ResNet's stem max-pool,
//      as VGG's pools end theirs);
//    - an expansion (a 1x1 convolution, its batch norm and activation, widening the channels just
//      before a strided layer) starts the next block (MobileNetV2's inverted residuals), so the block
//      ends at the expansion's input.
// 4. The last block ends at the pooling's input. There must be five blocks.
//
// ResNet: block1 is the stem (to the max-pool, 1/4), block2..5 are layer1..layer4. MobileNetV2:
// features[1], [3], [6], [13] and [18] (1/2 .. 1/32).
#include "plugin/block_map.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/kinds/kind_support.hpp"
#include "pipeline/engine/layer_kind.hpp"

#include <opencv2/dnn/all_layers.hpp>

namespace cvtl {
namespace {

using namespace block_map_detail;

struct Graph {
    cv::dnn::Net& net;
    std::vector<std::string> types;
    std::vector<std::vector<int>> inputs;
    std::vector<std::vector<int>> shapes;  // by id: one sample's output shape
    std::vector<std::string> names;        // by id ("" for the input)

    bool is(int id, const char* kind_name) const { return opencv_type_is(types[static_cast<size_t>(id)], kind_name); }
    int height(int id) const {
        return shapes[static_cast<size_t>(id)].size() == 3 ? shapes[static_cast<size_t>(id)][1] : 1;
    }
    int channels(int id) const {
        return shapes[static_cast<size_t>(id)].empty() ? 0 : shapes[static_cast<size_t>(id)][0];
    }
    bool single_input(int id, int from) const {
        const auto& in = inputs[static_cast<size_t>(id)];
        return in.size() == 1 && in[0] == from;
    }
    cv::dnn::PoolingLayer* pooling(int id) const {
        return id > 0 ? dynamic_cast<cv::dnn::PoolingLayer*>(net.getLayer(id).get()) : nullptr;
    }
};

Graph read_graph(cv::dnn::Net& net, int input_size) {
    Graph g{net, layer_types(net), layer_inputs(net), {}, {""}};
    g.shapes.push_back({3, input_size, input_size});
    for (size_t id = 1; id < g.types.size(); ++id) {
        g.shapes.push_back(sample_shape(net, static_cast<int>(id), input_size));
        g.names.push_back(net.getLayer(static_cast<int>(id))->name);
    }
    return g;
}

// Articulation points among ids 1..end-1: no edge u -> v with u < a < v, for edges into 1..end.
std::vector<int> articulation_points(const Graph& g, int end) {
    std::vector<int> cover(static_cast<size_t>(end) + 2, 0);
    for (int v = 1; v <= end; ++v)
        for (int u : g.inputs[static_cast<size_t>(v)])
            if (v - u > 1) ++cover[static_cast<size_t>(u + 1)], --cover[static_cast<size_t>(v)];
    std::vector<int> points;
    for (int a = 1, open = 0; a < end; ++a)
        if ((open += cover[static_cast<size_t>(a)]) == 0) points.push_back(a);
    return points;
}

// Where the block before a resolution drop from articulation point p to q ends (step 3 above).
int block_end(const Graph& g, const std::vector<int>& points, int p, int q) {
    cv::dnn::PoolingLayer* pool = g.pooling(q);
    if (pool && !pool->globalPooling && g.single_input(q, p)) return q;
    int id = p;
    if (g.is(id, kind::relu) || g.is(id, kind::clip)) id = g.inputs[static_cast<size_t>(id)].at(0);
    while (id > 0 && layer_kind_for_opencv(g.types[static_cast<size_t>(id)]) &&
           layer_kind_for_opencv(g.types[static_cast<size_t>(id)])->is_channel_affine())
        id = g.inputs[static_cast<size_t>(id)].at(0);
    if (id <= 0 || !g.is(id, kind::conv2d) || g.inputs[static_cast<size_t>(id)].size() != 1) return p;
    const cv::Mat& w = g.net.getLayer(id)->blobs.at(0);
    const int source = g.inputs[static_cast<size_t>(id)][0];
    const bool pointwise = w.dims == 4 && w.size[2] == 1 && w.size[3] == 1 && w.size[1] == g.channels(source);
    const bool expands = g.channels(id) > g.channels(source);
    const bool at_point = std::find(points.begin(), points.end(), source) != points.end();
    return pointwise && expands && at_point && source > 0 ? source : p;
}

std::string describe(const Graph& g, const std::vector<int>& ends, int input_size) {
    std::string s;
    for (int id : ends)
        s += (s.empty() ? "" : ", ") + g.names[static_cast<size_t>(id)] + " (1/" +
             std::to_string(input_size / std::max(1, g.height(id))) + ")";
    return s.empty() ? "none" : s;
}

// Why a network cannot be mapped, with its layer types (the model's error names what was found).
Error unmapped(const Graph& g, const std::string& label, const std::string& what) {
    return Error("model " + label + " cannot be mapped to five blocks: " + what +
                 " (expected a VGG with 5 max-pools, or convolutional stages ending in a global average pooling "
                 "then fully connected layers; layers: " +
                 join_types(std::vector<std::string>(g.types.begin() + 1, g.types.end())) + ")");
}

// Steps 1-4: the global pooling's id and the five blocks' last layers.
std::pair<int, std::vector<int>> block_ends(const Graph& g, const std::string& label, int input_size) {
    int pool = 0;
    for (int id = 1; id < static_cast<int>(g.types.size()) && pool == 0; ++id)
        if (g.pooling(id) && g.pooling(id)->globalPooling && g.pooling(id)->type != kOpenCvMaxPool) pool = id;
    if (pool == 0) throw unmapped(g, label, "found no global average pooling");
    for (int id = 1; id < pool; ++id)
        if (!accepted(g.types[static_cast<size_t>(id)], true))
            throw unmapped(g, label,
                           "layer " + g.names[static_cast<size_t>(id)] + " of type " +
                               g.types[static_cast<size_t>(id)] + " before the global pooling");
    const std::vector<int> points = articulation_points(g, pool);
    std::vector<int> ends;
    for (size_t i = 0; i + 1 < points.size(); ++i)
        if (g.height(points[i + 1]) < g.height(points[i])) {
            const int end = block_end(g, points, points[i], points[i + 1]);
            if (ends.empty() || ends.back() != end) ends.push_back(end);
        }
    const int final_end = g.inputs[static_cast<size_t>(pool)].at(0);
    if (ends.empty() || ends.back() != final_end) ends.push_back(final_end);
    if (ends.size() != 5)
        throw unmapped(g, label,
                       "found " + std::to_string(ends.size()) + " blocks ending at " + describe(g, ends, input_size));
    return {pool, ends};
}

Tap tap_at(const Graph& g, const std::string& name, int id) {
    return {name, id, g.names[static_cast<size_t>(id)], g.shapes[static_cast<size_t>(id)]};
}

// The classifier after the pooling, and taps features (the pooled vector, flattened when a Flatten
// follows) and logits (the last fully connected layer).
void map_classifier(const Graph& g, const std::string& label, int first, int pool, BlockMap& map) {
    const int last = static_cast<int>(g.types.size()) - 1;
    Block classifier{"classifier", first, last, 0, 0};
    int features = pool, logits = 0;
    for (int id = first; id <= last; ++id) {
        const std::string& type = g.types[static_cast<size_t>(id)];
        if (id > pool && !accepted(type, false))
            throw unmapped(g, label,
                           "layer " + g.names[static_cast<size_t>(id)] + " of type " + type + " in the classifier");
        if (id == features + 1 && g.is(id, kind::flatten) && g.single_input(id, features)) features = id;
        if (g.is(id, kind::linear)) {
            ++classifier.convolutions;
            logits = id;
        }
        classifier.parameters += stored_values(g.net, id);
    }
    if (logits == 0) throw unmapped(g, label, "no fully connected layer after the global pooling");
    map.blocks.push_back(classifier);
    map.taps.push_back(tap_at(g, tap::features, features));
    map.taps.push_back(tap_at(g, tap::logits, logits));
}

}  // namespace

BlockMap map_graph_blocks(cv::dnn::Net& net, int input_size, const std::string& model_label) {
    if (input_size <= 0) throw Error("model " + model_label + " does not declare its input size; pass {size} N");
    const Graph g = read_graph(net, input_size);
    const auto [pool, ends] = block_ends(g, model_label, input_size);
    BlockMap map;
    map.backbone = Backbone::graph;
    map.input_size = input_size;
    map.layer_types = g.types;
    map.layer_inputs = g.inputs;
    map.taps.push_back({tap::input, 0, "", {3, input_size, input_size}});
    int first = 1;
    for (int b = 0; b < 5; ++b) {
        Block block{tap::block_name(b + 1), first, ends[static_cast<size_t>(b)], 0, 0};
        for (int id = first; id <= block.last_layer; ++id) {
            block.convolutions += g.is(id, kind::conv2d);
            block.parameters += stored_values(net, id);
        }
        map.taps.push_back(tap_at(g, tap::block_output(b + 1, tap::Style::graph), block.last_layer));
        map.blocks.push_back(block);
        first = block.last_layer + 1;
    }
    map_classifier(g, model_label, first, pool, map);
    return map;
}

}  // namespace cvtl
