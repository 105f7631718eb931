#include "plugin/tap_name.hpp"

#include <algorithm>

namespace cvtl::tap {

std::string block_output(int block) { return "pool" + std::to_string(block); }

std::string block_input(int block) { return block == 1 ? input : block_output(block - 1); }

// VGG papers number the fully connected layers after the 5 blocks: fc6, fc7, fc8 (the logits).
std::string hidden(int k) { return "fc" + std::to_string(5 + k); }

const std::vector<std::string>& all() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n{input};
        for (int b = 1; b <= 5; ++b) n.push_back(block_output(b));
        n.push_back(hidden(1));
        n.push_back(hidden(2));
        n.push_back(logits);
        return n;
    }();
    return names;
}

int depth(const std::string& name) {
    const auto it = std::find(all().begin(), all().end(), name);
    return it == all().end() ? -1 : static_cast<int>(it - all().begin());
}

bool in_classifier(const std::string& name) { return depth(name) > depth(block_output(5)); }

}  // namespace cvtl::tap
