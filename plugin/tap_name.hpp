#pragma once
// The names of the taps, the places where cvtl reads a source's activations: the one place they are
// spelled (the block maps, head builder, fast path, trainer and sweep all ask here).
//
// Two styles, by how the source was mapped (plugin/block_map):
// - a VGG: input, pool1..pool5 (its five max-pools), fc6, fc7 (the hidden classifier layers), logits;
// - any other backbone: input, block1..block5 (its five structural blocks), features (the globally
//   pooled vector before the classifier), logits.
#include <string>
#include <vector>

namespace cvtl::tap {

enum class Style { vgg, graph };

inline constexpr const char* input = "input";
inline constexpr const char* logits = "logits";
inline constexpr const char* features = "features";

// "block1".."block5": the name of block 1..5 (both styles name the blocks so).
std::string block_name(int block);
// The output of block 1..5: "pool1".."pool5" in a VGG, "block1".."block5" otherwise.
std::string block_output(int block, Style style = Style::vgg);
// What block 1..5 reads: the input for block 1, else the output of the block before.
std::string block_input(int block, Style style = Style::vgg);
// "fc6", "fc7": a VGG classifier's first and second hidden layers after their ReLU (k = 1, 2).
std::string hidden(int k);
// What a new classifier reads in each style: pool5 in a VGG (the source's classifier above it is
// retrained), features otherwise.
std::string classifier_input(Style style);
// The style of a set of taps (a cache's): graph when any is block1..block5 or features.
Style style_of(const std::vector<std::string>& taps);
// Every tap of a style, shallowest first.
const std::vector<std::string>& all(Style style = Style::vgg);
// The same, comma-separated, for messages: "input,pool1,...,logits".
std::string list(Style style);
// The tap a user's name means in a style: a VGG's block outputs may be named block1..block5 too.
std::string canonical(const std::string& name, Style style);
// A tap's depth: input 0, the output of block k is k, then fc6 or features 6, fc7 7, logits 8; -1 for a
// name that is not a tap.
int depth(const std::string& name);
// Whether the tap is inside the source's classifier (fc6, fc7, features, logits).
bool in_classifier(const std::string& name);

}  // namespace cvtl::tap
