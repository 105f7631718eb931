#pragma once
// 2-D convolution with bias and an optional fused ReLU, on oneDNN's convolution primitives.
#include "pipeline/engine/layers/layer.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <memory>

namespace cvtl {

// src [N, in_channels, H, W] -> dst [N, out_channels, (H + 2*pad - kernel)/stride + 1, (W + 2*pad - kernel)/stride + 1]
// With groups > 1 the channels split into that many groups convolved separately (groups = in_channels =
// out_channels is MobileNet's depthwise convolution).
// params, in order: weights [out_channels, in_channels / groups, kernel, kernel] (decay_mult 1),
//                   bias [out_channels] (decay_mult 0; an out_channels x 1 cv::Mat, OpenCV 4 has no 1-D Mat).
// Both start at zero: the caller loads or initialises them.
// oneDNN picks the layouts it computes in (blocked on AVX-512); the plain user tensors are reordered at the
// boundary through buffers and reorders created once per (batch size, train/eval).
class Conv2d : public Layer {
public:
    Conv2d(int in_channels, int out_channels, int kernel, int stride, int pad, bool fused_relu, int groups = 1);
    ~Conv2d() override;

    std::string type() const override { return "conv2d"; }
    std::vector<int> setup(const std::vector<int>& src_shape) override;
    void forward(const cv::Mat& src, cv::Mat& dst, bool train) override;
    void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override;
    std::vector<Param*> params() override { return {&weights_, &bias_}; }
    // bf16: src, weights and diff_dst are rounded to bf16 on their way into the primitives; dst, diff_src
    // and the gradients come out f32.
    void set_precision(Precision precision) override;

private:
    struct Forward;
    struct Backward;
    std::unique_ptr<Forward> make_forward(int n, bool train) const;
    std::unique_ptr<Backward> make_backward(int n) const;
    // The weights as oneDNN sees them: [O, I, k, k], or [G, O/G, I/G, k, k] when grouped (the same values
    // in the same order as the parameter).
    dnnl::memory::dims weight_dims() const;

    int in_channels_, out_channels_, kernel_, stride_, pad_, groups_;
    bool fused_relu_;
    Precision precision_ = Precision::f32;
    std::vector<int> src_shape_, dst_shape_;  // one sample: [C, H, W]
    Param weights_, bias_;
    std::unique_ptr<Forward> train_forward_, eval_forward_;
    std::unique_ptr<Backward> backward_;
};

}  // namespace cvtl
