#pragma once
// Flatten: a reshape, so dst and diff_src are views that share their input's data (no copy).
#include "pipeline/engine/layers/layer.hpp"

namespace cvtl {

// src [N, C, H, W] -> dst [N, C*H*W] (any [N, ...] -> [N, product]); no params.
class Flatten : public Layer {
public:
    std::string type() const override { return "flatten"; }
    std::vector<int> setup(const std::vector<int>& src_shape) override;
    void forward(const cv::Mat& src, cv::Mat& dst, bool train) override;
    void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override;

private:
    std::vector<int> src_shape_;  // one sample
    int features_ = 0;
};

}  // namespace cvtl
