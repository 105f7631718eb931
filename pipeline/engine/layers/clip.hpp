#pragma once
// Clipping to [min, max]: ReLU6 is clip(x, 0, 6) (MobileNetV2), exported by PyTorch as ONNX Clip.
#include "pipeline/engine/layers/layer.hpp"

namespace cvtl {

// src [N, ...] -> dst = min(max(src, lo), hi); no params. The gradient passes where lo < src < hi,
// as PyTorch's hardtanh, and is read off dst (lo < dst < hi is the same set).
class Clip : public Layer {
public:
    Clip(float lo, float hi);
    std::string type() const override { return "clip"; }
    std::vector<int> setup(const std::vector<int>& src_shape) override;
    void forward(const cv::Mat& src, cv::Mat& dst, bool train) override;
    void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override;

private:
    float lo_, hi_;
    std::vector<int> shape_;  // one sample
};

}  // namespace cvtl
