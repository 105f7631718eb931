#pragma once
// Inverted dropout with a reproducible mask stream.
#include "pipeline/engine/layers/layer.hpp"

#include <cstdint>

namespace cvtl {

// src [N, ...] -> dst [N, ...]; no params.
// train: each element is kept with probability 1 - p and scaled by 1/(1 - p), else zeroed.
// eval: identity; dst is a view of src (no copy).
// The mask of element i in the k-th training forward (k = calls() before it) is a counter-based hash of
// (seed, k, i), so it does not depend on threading and a run can be repeated or resumed exactly.
class Dropout : public Layer {
public:
    Dropout(float p, std::uint64_t seed);

    std::string type() const override { return "dropout"; }
    std::vector<int> setup(const std::vector<int>& src_shape) override;
    void forward(const cv::Mat& src, cv::Mat& dst, bool train) override;
    void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override;

    // Restarts the mask stream: the next training forward draws what the first one after construction did.
    void reseed(std::uint64_t seed);
    // Training forwards since construction or reseed(); saved and restored by checkpoints.
    std::uint64_t calls() const { return calls_; }
    void set_calls(std::uint64_t calls) { calls_ = calls; }
    // Data-parallel training: the batch is rows [first_row, ...) of a global batch, and element i of
    // it takes the mask of element i + first_row * (sample elements) of the global batch.
    void set_row_offset(std::int64_t first_row) { row_offset_ = first_row; }

private:
    float p_;
    std::uint64_t seed_;
    std::uint64_t calls_ = 0;
    std::int64_t row_offset_ = 0;
    std::vector<int> shape_;  // one sample
    cv::Mat mask_;            // uint8 [N * sample elements]: 1 where the last training forward kept the element
};

}  // namespace cvtl
