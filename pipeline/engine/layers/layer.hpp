#pragma once
// The trainable-layer contract shared by every layer of the training engine.
//
// Tensors are continuous float32 cv::Mat with the batch first: [N, C, H, W] or [N, D].
// A layer is used as: setup(one sample's input shape) once, then any number of
// forward(src, dst, train) / backward(src, dst, diff_dst, diff_src) pairs, with any N.
#include "pipeline/engine/layers/precision.hpp"

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace cvtl {

// A learned tensor with its gradient and per-parameter multipliers.
struct Param {
    std::string name;         // e.g. "weights", "bias", "gamma", "beta"
    cv::Mat value;            // float32, layer-specific shape (documented on each layer)
    cv::Mat grad;             // same shape; assigned (not accumulated) by backward()
    float lr_mult = 1.0f;     // learning-rate multiplier; 0 freezes the parameter
    float decay_mult = 1.0f;  // weight-decay multiplier; 0 for biases and normalisation parameters
};

class Layer {
public:
    virtual ~Layer() = default;

    // Short type name: "conv2d", "relu", "max_pool", "avg_pool", "flatten", "linear", "dropout", "batch_norm".
    virtual std::string type() const = 0;

    // Checks one sample's input shape ([C, H, W] or [D]) and returns one sample's output shape.
    // Throws cvtl::Error (one line, expected vs found) when the shape does not fit the layer.
    virtual std::vector<int> setup(const std::vector<int>& src_shape) = 0;

    // src [N, in...] -> dst [N, out...] (dst is (re)allocated by the layer).
    // train=true: dropout draws masks, batch norm uses batch statistics and updates running ones,
    // and the layer keeps what backward() needs (max-pool workspace, masks, saved statistics).
    virtual void forward(const cv::Mat& src, cv::Mat& dst, bool train) = 0;

    // Called after forward(src, dst, train=true) with the same src/dst.
    // diff_dst [N, out...] in; every param's grad assigned; diff_src [N, in...] assigned
    // only when need_diff_src (the first trained layer of a network does not need it).
    virtual void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                          bool need_diff_src) = 0;

    // The arithmetic of the layer's products (see precision.hpp); layers without products ignore it.
    // Tensors, parameters and gradients stay float32 at the boundary either way. Throws cvtl::Error for
    // bf16 on a CPU without AVX512-BF16.
    virtual void set_precision(Precision) {}

    // Normalisation layers: true makes training use and keep the running statistics (batch_norm2d.hpp);
    // other layers ignore it.
    virtual void set_frozen_statistics(bool) {}

    // Learned parameters in a fixed order (documented on each layer); empty for parameter-free layers.
    virtual std::vector<Param*> params() { return {}; }

    // How many tensors the layer reads. A layer that reads several (residual addition) is run through
    // forward_inputs() instead of forward(), each input of one sample's setup() shape. Every such layer
    // is a sum, so its backward() computes one diff_src that is the gradient of each input; `src` is
    // then its first input.
    virtual int arity() const { return 1; }
    virtual void forward_inputs(const std::vector<const cv::Mat*>& srcs, cv::Mat& dst, bool train) {
        forward(*srcs.at(0), dst, train);
    }
};

}  // namespace cvtl
