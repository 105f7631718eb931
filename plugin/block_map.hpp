#pragma once
#include <opencv2/dnn.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cvtl {

// A named point in the network whose output cvtl can read: input, pool1..pool5, fc6, fc7, logits.
struct Tap {
    std::string name;
    int layer_id = 0;        // cv::dnn layer whose output is the tap; 0 is the network input
    std::string layer_name;  // as cv::dnn names it (e.g. "onnx_node!/features/features.4/MaxPool")
    std::vector<int> shape;  // one sample: [C, H, W] or [D]
};

// A contiguous range of cv::dnn layers: block1..block5 (convs ending in a max-pool) or classifier.
struct Block {
    std::string name;
    int first_layer = 0;
    int last_layer = 0;
    int convolutions = 0;         // convolution or fully connected layers in the range
    std::int64_t parameters = 0;  // learned values stored in the range's layers
};

struct BlockMap {
    int input_size = 0;
    std::vector<Tap> taps;                 // in network order
    std::vector<Block> blocks;             // block1..block5, classifier
    std::vector<std::string> layer_types;  // by layer id (index 0 is the input)

    bool has_tap(const std::string& name) const;
    const Tap& tap(const std::string& name) const;  // throws cvtl::Error naming the known taps
};

// Finds the five convolutional blocks structurally (the max-pool layers, in order) and the
// classifier after them, whatever the exporter named the layers. `model_label` names the model
// in errors. Throws cvtl::Error describing what was found when the network is not VGG-shaped.
BlockMap map_vgg_blocks(cv::dnn::Net& net, int input_size, const std::string& model_label);

}  // namespace cvtl
