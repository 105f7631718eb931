#pragma once
// Translates the part of a source VGG above a tap into a trainable Network, weights copied exactly.
#include "plugin/block_map.hpp"
#include "pipeline/engine/network.hpp"
#include "pipeline/engine/weights.hpp"

#include <opencv2/dnn.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cvtl {

struct HeadOptions {
    std::string from_tap = "pool5";   // the network starts after this tap
    int classes = 0;                  // size of the new output layer
    float dropout = 0.5f;             // after each hidden fully connected layer, as torchvision's VGG
    std::uint64_t seed = 0;           // dropout streams
    bool keep_source_output = false;  // keep the model's own output layer (its classes, its weights)
    std::string until_tap;            // stop after this tap's layer (the frozen part below a tap); "" = to the end
};

struct Head {
    NetworkSpec spec;
    WeightMap source_weights;             // every layer taken from the source model
    std::vector<std::string> new_layers;  // layers with no source weights (the new output layer, a probe)
};

// Walks the cv::dnn layers after `options.from_tap` up to the last fully connected layer and
// translates each (convolution, batch norm, ReLU, max/average pooling, flatten, fully connected);
// the last fully connected layer is replaced by a new one with `options.classes` outputs.
// Throws cvtl::Error naming the layer when something cannot be translated.
Head build_head(cv::dnn::Net& net, const BlockMap& map, const HeadOptions& options);

// Index of the layer whose output is `tap` (pool1..pool5, fc6, fc7, logits) in a spec that build_head
// made from the network input; throws cvtl::Error when the spec does not reach it. The head builder
// names the layers, so it alone maps taps to them.
int head_layer_at_tap(const NetworkSpec& spec, const std::string& tap);

// A linear probe: flatten (when the tap is spatial) and one new fully connected layer.
Head build_linear_probe(const std::string& tap, const std::vector<int>& tap_shape, int classes);

}  // namespace cvtl
