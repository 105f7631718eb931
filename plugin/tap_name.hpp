#pragma once
// The names of the taps, the places where cvtl reads a VGG-shaped source's activations: the one place
// they are spelled (the block map, head builder, fast path, trainer and sweep all ask here).
#include <string>
#include <vector>

namespace cvtl::tap {

inline constexpr const char* input = "input";
inline constexpr const char* logits = "logits";

// "pool1".."pool5": the output of block 1..5 (its max-pool).
std::string block_output(int block);
// What block 1..5 reads: the input for block 1, else the output of the block before.
std::string block_input(int block);
// "fc6", "fc7": the classifier's first and second hidden layers after their ReLU (k = 1, 2).
std::string hidden(int k);
// Every tap, shallowest first: input, pool1..pool5, fc6, fc7, logits.
const std::vector<std::string>& all();
// A tap's place in all(), or -1 for a name that is not a tap.
int depth(const std::string& name);
// Whether the tap is inside the source's classifier (fc6, fc7, logits).
bool in_classifier(const std::string& name);

}  // namespace cvtl::tap
