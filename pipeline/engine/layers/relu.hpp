#pragma once
// Standalone ReLU, for where it is not fused into the preceding Conv2d or Linear.
#include "pipeline/engine/layers/layer.hpp"

namespace cvtl {

// src [N, ...] -> dst [N, ...] = max(src, 0); no params.
class ReLU : public Layer {
public:
    std::string type() const override { return "relu"; }
    std::vector<int> setup(const std::vector<int>& src_shape) override;
    void forward(const cv::Mat& src, cv::Mat& dst, bool train) override;
    void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override;

private:
    std::vector<int> shape_;  // one sample
};

}  // namespace cvtl
