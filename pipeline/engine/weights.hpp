#pragma once
// A network's weights by name: fresh initial values, and copies into and out of a built network.
#include "pipeline/engine/network.hpp"

#include <opencv2/core.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace cvtl {

// Initial values for a network's parameters and batch-norm statistics, by "layer.param" name
// ("block5.conv1.weights", "block1.bn1.running_mean", ...).
using WeightMap = std::map<std::string, cv::Mat>;

// Fresh initial values as torchvision initialises VGG, drawn from `seed`: convolutions He-normal
// (fan-out, ReLU gain), biases 0, fully connected U(-1/sqrt(in), 1/sqrt(in)) as PyTorch's nn.Linear, batch norm gamma 1, beta 0,
// running mean 0, running var 1. Covers every parameter of `spec`.
WeightMap fresh_weights(const NetworkSpec& spec, std::uint64_t seed);

// Copies `weights` into the network's parameters and batch-norm statistics. Every parameter must be
// covered and shapes must match; throws cvtl::Error naming the first mismatch.
void load_weights(Network& network, const WeightMap& weights);

// The network's current parameters and batch-norm statistics (copies).
WeightMap save_weights(Network& network);

}  // namespace cvtl
