#pragma once
// Fully connected layer with bias and an optional fused ReLU, on oneDNN's inner product.
#include "pipeline/engine/layers/layer.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <memory>

namespace cvtl {

// src [N, in_features] or [N, C, H, W] with C*H*W == in_features (read in row-major order, as
// torch.flatten does) -> dst [N, out_features]; diff_src has src's shape.
// params, in order: weights [out_features, in_features] (decay_mult 1),
//                   bias [out_features] (decay_mult 0; an out_features x 1 cv::Mat).
// Both start at zero: the caller loads or initialises them.
// All tensors stay plain ("nc"/"oi"): the kernels use f32 weights in place; with bf16 (set_precision), src,
// weights and diff_dst are converted once per step on their way in, and results stay f32.
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
    void set_precision(Precision precision) override;

private:
    struct Forward;
    struct Backward;
    std::unique_ptr<Forward> make_forward(int n) const;
    std::unique_ptr<Backward> make_backward(int n) const;
    dnnl::memory::desc operand_desc(const dnnl::memory::dims& dims, dnnl::memory::format_tag layout) const;

    int in_features_, out_features_;
    bool fused_relu_;
    Precision precision_ = Precision::f32;
    std::vector<int> src_shape_;  // one sample: [in_features] or [C, H, W]
    Param weights_, bias_;
    std::unique_ptr<Forward> forward_;
    std::unique_ptr<Backward> backward_;
    int trained_n_ = 0;  // batch of the last forward when it was a training one, else 0
};

}  // namespace cvtl
