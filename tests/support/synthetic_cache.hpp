#pragma once
#include <string>
#include <vector>

namespace cvtl::test {

struct SyntheticCache {
    std::string model;                     // fixture model the cache claims to come from ("" : none)
    std::vector<std::string> taps;         // tap names
    std::vector<std::vector<int>> shapes;  // one sample's shape per tap
    int classes = 3;
    int rows_per_class = 20;
    int val_per_class = 5;
    // Rows after the validation ones marked test (split 2), each holding a NaN: a training or sweep that
    // reads one of them ends with a non-finite loss.
    int test_per_class = 0;
    float separation = 3.0f;  // class mean offset in units of the noise
    // Per tap (empty: "means" everywhere): "means" (a class mean pattern plus noise), "noise" (no class
    // signal at all) or "xor" (2 classes: noise plus two entries at the same position of channels 0
    // and 1 whose signs agree for class 0 and differ for class 1, which no linear model separates).
    std::vector<std::string> kinds;
    int seed = 0;
    bool complete = true;
};

// Writes a cache whose classes are separable (as `kinds` says): each class has its own random mean pattern
// (non-negative, like post-ReLU activations) plus noise. Rows are grouped by class.
void write_synthetic_cache(const std::string& path, const SyntheticCache& spec);

}  // namespace cvtl::test
