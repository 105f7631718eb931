#pragma once
// Fully connected layer with bias and an optional fused ReLU, on oneDNN's inner product.
#include "plugin/layers/layer.hpp"

#include <memory>

namespace cvtl {

// src [N, in_features] or [N, C, H, W] with C*H*W == in_features (read in row-major order, as
// torch.flatten does) -> dst [N, out_features]; diff_src has src's shape.
// params, in order: weights [out_features, in_features] (decay_mult 1),
//                   bias [out_features] (decay_mult 0; an out_features x 1 cv::Mat).
// Both start at zero: the caller loads or initialises them.
// All tensors stay plain ("nc"/"oi"): oneDNN's gemm kernels then use the weights in place, which measured as
// fast as its blocked brgemm kernels plus the weight reorders those need every step.
class Linear : public Layer {
public:
    Linear(int in_features, int out_features, bool fused_relu);
    ~Linear() override;

    std::string type() const override { return "linear"; }
    std::vector<int> setup(const std::vector<int>& src_shape) override;
    void forward(const cv::Mat& src, cv::Mat& dst, bool train) override;
    void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override;
    std::vector<Param*> params() override { return {&weights_, &bias_}; }

private:
    struct Forward;
    struct Backward;
    std::unique_ptr<Forward> make_forward(int n, bool train) const;
    std::unique_ptr<Backward> make_backward(int n) const;

    int in_features_, out_features_;
    bool fused_relu_;
    std::vector<int> src_shape_;  // one sample: [in_features] or [C, H, W]
    Param weights_, bias_;
    std::unique_ptr<Forward> train_forward_, eval_forward_;
    std::unique_ptr<Backward> backward_;
};

}  // namespace cvtl
