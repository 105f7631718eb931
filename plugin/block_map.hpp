#pragma once
#include "plugin/tap_name.hpp"

#include <opencv2/dnn.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cvtl {

// A named point in the network whose output cvtl can read (plugin/tap_name): input, pool1..pool5, fc6,
// fc7, logits in a VGG; input, block1..block5, features, logits in any other backbone.
struct Tap {
    std::string name;
    int layer_id = 0;        // cv::dnn layer whose output is the tap; 0 is the network input
    std::string layer_name;  // as cv::dnn names it (e.g. "onnx_node!/features/features.4/MaxPool")
    std::vector<int> shape;  // one sample: [C, H, W] or [D]
};

// A contiguous range of cv::dnn layers (ids in cv::dnn's order, which is topological): block1..block5
// (in a VGG, convolutions ending in a max-pool) or the classifier.
struct Block {
    std::string name;
    int first_layer = 0;
    int last_layer = 0;
    int convolutions = 0;         // convolution or fully connected layers in the range
    std::int64_t parameters = 0;  // learned values stored in the range's layers
};

// How a source network was mapped: a VGG chain (five max-pool blocks), or a graph mapped by its
// structure (plugin/graph_block_map: ResNet, MobileNetV2 and other globally pooled backbones).
enum class Backbone { vgg, graph };

struct BlockMap {
    Backbone backbone = Backbone::vgg;
    int input_size = 0;
    std::vector<Tap> taps;                       // in network order
    std::vector<Block> blocks;                   // block1..block5, classifier
    std::vector<std::string> layer_types;        // by layer id (index 0 is the input)
    std::vector<std::vector<int>> layer_inputs;  // by layer id: the ids it reads (0 is the input)

    tap::Style tap_style() const { return backbone == Backbone::vgg ? tap::Style::vgg : tap::Style::graph; }
    bool has_tap(const std::string& name) const;
    const Tap& tap(const std::string& name) const;  // throws cvtl::Error naming the known taps
};

// Finds the five convolutional blocks structurally (the max-pool layers, in order) and the
// classifier after them, whatever the exporter named the layers. `model_label` names the model
// in errors. Throws cvtl::Error describing what was found when the network is not VGG-shaped.
BlockMap map_vgg_blocks(cv::dnn::Net& net, int input_size, const std::string& model_label);

// Finds the five structural blocks of a globally pooled backbone from its graph (plugin/graph_block_map).
// Throws cvtl::Error describing what was found when they cannot be mapped.
BlockMap map_graph_blocks(cv::dnn::Net& net, int input_size, const std::string& model_label);

// A VGG-shaped network (five max-pools) through map_vgg_blocks, any other through map_graph_blocks.
BlockMap map_blocks(cv::dnn::Net& net, int input_size, const std::string& model_label);

// Helpers the two mappers share.
namespace block_map_detail {
std::vector<std::string> layer_types(cv::dnn::Net& net);
std::vector<std::vector<int>> layer_inputs(cv::dnn::Net& net);
std::int64_t stored_values(cv::dnn::Net& net, int id);
std::vector<int> sample_shape(cv::dnn::Net& net, int id, int input_size);
std::string join_types(const std::vector<std::string>& types);
bool accepted(const std::string& type, bool in_features);
}  // namespace block_map_detail

}  // namespace cvtl
