#pragma once
// Batch normalisation over (N, H, W) per channel, with PyTorch's semantics, on oneDNN.
#include "pipeline/engine/layers/layer.hpp"

#include <memory>

namespace cvtl {

// src [N, C, H, W] -> dst [N, C, H, W] = gamma * (src - mean) / sqrt(var + eps) + beta.
// train: mean and the biased var of the batch (over N*H*W values per channel); then
//        running = (1 - momentum) * running + momentum * batch, using the unbiased var (times m/(m-1),
//        m = N*H*W) for running_var. backward differentiates through the batch statistics.
// eval:  running_mean and running_var.
// frozen statistics (set_frozen_statistics): training forwards normalise with the running statistics
//        and leave them unchanged, and backward treats them as constants, which is PyTorch's
//        eval()-mode batch norm with gamma and beta still trained, and Keras' "inference mode" while
//        fine-tuning. The statistics of a small target dataset's batches are noisy and would replace
//        the source's, which were measured on millions of images.
// params, in order: gamma [C] (starts at 1), beta [C] (starts at 0), both decay_mult 0 (C x 1 cv::Mats).
// Buffers, not params: running_mean [C] (starts at 0), running_var [C] (starts at 1).
class BatchNorm2d : public Layer {
public:
    explicit BatchNorm2d(int channels, float eps = 1e-5f, float momentum = 0.1f);
    ~BatchNorm2d() override;

    std::string type() const override { return "batch_norm"; }
    std::vector<int> setup(const std::vector<int>& src_shape) override;
    void forward(const cv::Mat& src, cv::Mat& dst, bool train) override;
    void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override;
    std::vector<Param*> params() override { return {&gamma_, &beta_}; }
    void set_frozen_statistics(bool frozen) override;

    cv::Mat& running_mean() { return running_mean_; }
    cv::Mat& running_var() { return running_var_; }
    const cv::Mat& running_mean() const { return running_mean_; }
    const cv::Mat& running_var() const { return running_var_; }

private:
    struct Forward;
    struct Backward;
    std::unique_ptr<Forward> make_forward(int n, bool train) const;
    // Whether a training forward normalises with the batch's statistics (else the running ones).
    bool batch_statistics(bool train) const { return train && !frozen_; }
    std::unique_ptr<Backward> make_backward(int n) const;
    void update_running_stats(int values_per_channel);

    int channels_;
    float eps_, momentum_;
    bool frozen_ = false;
    std::vector<int> shape_;  // one sample: [C, H, W]
    Param gamma_, beta_;
    cv::Mat running_mean_, running_var_;
    cv::Mat batch_mean_, batch_var_;  // [C]: the last training forward's statistics (biased var), for backward
    std::unique_ptr<Forward> train_forward_, eval_forward_;
    std::unique_ptr<Backward> backward_;
};

}  // namespace cvtl
