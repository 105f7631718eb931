#include "plugin/tap_name.hpp"

#include <algorithm>

namespace cvtl::tap {

std::string block_name(int block) { return "block" + std::to_string(block); }

std::string block_output(int block, Style style) {
    return style == Style::vgg ? "pool" + std::to_string(block) : block_name(block);
}

std::string block_input(int block, Style style) { return block == 1 ? input : block_output(block - 1, style); }

// VGG papers number the fully connected layers after the 5 blocks: fc6, fc7, fc8 (the logits).
std::string hidden(int k) { return "fc" + std::to_string(5 + k); }

std::string classifier_input(Style style) { return style == Style::vgg ? block_output(5) : features; }

Style style_of(const std::vector<std::string>& taps) {
    for (const std::string& t : taps)
        if (t == features || (t.rfind("block", 0) == 0 && depth(t) > 0)) return Style::graph;
    return Style::vgg;
}

const std::vector<std::string>& all(Style style) {
    static const std::vector<std::string> vgg = [] {
        std::vector<std::string> n{input};
        for (int b = 1; b <= 5; ++b) n.push_back(block_output(b));
        n.push_back(hidden(1));
        n.push_back(hidden(2));
        n.push_back(logits);
        return n;
    }();
    static const std::vector<std::string> graph = [] {
        std::vector<std::string> n{input};
        for (int b = 1; b <= 5; ++b) n.push_back(block_output(b, Style::graph));
        n.push_back(features);
        n.push_back(logits);
        return n;
    }();
    return style == Style::vgg ? vgg : graph;
}

std::string list(Style style) {
    std::string s;
    for (const std::string& t : all(style)) s += (s.empty() ? "" : ",") + t;
    return s;
}

std::string canonical(const std::string& name, Style style) {
    for (int b = 1; b <= 5; ++b)
        if (style == Style::vgg && name == block_name(b)) return block_output(b, style);
    return name;
}

int depth(const std::string& name) {
    if (name == input) return 0;
    for (int b = 1; b <= 5; ++b)
        if (name == block_output(b) || name == block_output(b, Style::graph)) return b;
    if (name == hidden(1) || name == features) return 6;
    if (name == hidden(2)) return 7;
    return name == logits ? 8 : -1;
}

bool in_classifier(const std::string& name) { return depth(name) > 5; }

}  // namespace cvtl::tap
