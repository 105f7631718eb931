#pragma once
// The shared engine of MaxPool2d and AvgPool2d: oneDNN pooling on plain [N, C, H, W] tensors.
#include "pipeline/engine/layers/layer.hpp"

#include <memory>

namespace cvtl {

// src [N, C, H, W] -> dst [N, C, OH, OW], OH = (H + 2*pad - kernel)/stride + 1 (rounded up in ceil mode,
// dropping a last window that would start in the right padding, as PyTorch does); no params.
class Pool2d : public Layer {
public:
    ~Pool2d() override;

    std::vector<int> setup(const std::vector<int>& src_shape) override;
    void forward(const cv::Mat& src, cv::Mat& dst, bool train) override;
    void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override;

protected:
    enum class Kind { max, avg_include_pad, avg_exclude_pad };
    Pool2d(Kind kind, int kernel, int stride, int pad, bool ceil_mode);

private:
    struct Forward;
    struct Backward;
    std::unique_ptr<Forward> make_forward(int n, bool train) const;
    std::unique_ptr<Backward> make_backward(int n) const;

    Kind kind_;
    int kernel_, stride_, pad_;
    bool ceil_mode_;
    std::vector<int> src_shape_, dst_shape_;  // one sample: [C, H, W]
    std::unique_ptr<Forward> train_forward_, eval_forward_;
    std::unique_ptr<Backward> backward_;
};

}  // namespace cvtl
