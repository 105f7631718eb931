#pragma once
// Residual addition: the sum of two tensors of one shape, optionally followed by a fused ReLU
// (ResNet's `relu(branch + shortcut)`).
#include "pipeline/engine/layers/layer.hpp"

namespace cvtl {

// srcs {a [N, ...], b [N, ...]} -> dst = a + b (then max(., 0) when the ReLU is fused); no params.
// backward's diff_src is diff_dst (masked by dst > 0 with the ReLU): the gradient of both inputs.
class Add : public Layer {
public:
    explicit Add(bool fused_relu) : fused_relu_(fused_relu) {}
    std::string type() const override { return "add"; }
    int arity() const override { return 2; }
    std::vector<int> setup(const std::vector<int>& src_shape) override;
    // A sum needs both of its inputs: forward() with one is a caller's mistake.
    void forward(const cv::Mat& src, cv::Mat& dst, bool train) override;
    void forward_inputs(const std::vector<const cv::Mat*>& srcs, cv::Mat& dst, bool train) override;
    void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override;

private:
    bool fused_relu_;
    std::vector<int> shape_;  // one sample, the same for both inputs
};

}  // namespace cvtl
