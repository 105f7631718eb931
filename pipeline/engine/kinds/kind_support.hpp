#pragma once
// Small helpers the kind descriptors share: reading cv::dnn layer parameters and making tensors.
#include "pipeline/engine/layer_kind.hpp"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <string>
#include <vector>

namespace cvtl {

// OpenCV's PoolingLayer::type for max pooling (the first value of its internal enum). Max and
// average pooling share the type name "Pooling", and torchvision's adaptive average pool exports as one.
inline constexpr int kOpenCvMaxPool = 0;

// The one value of a per-axis parameter (kernel, stride, padding); throws when the axes differ,
// since cvtl trains square layers only. 0 for an empty list.
int square_param(const std::vector<size_t>& per_axis, const std::string& what, const std::string& layer);

// A kind that is a per-channel affine map at inference (batch norm, scale): it has no step of its own
// in the fast path, which folds it into the convolution before it (conv2d_kind).
class ChannelAffineKind : public LayerKind {
public:
    bool is_channel_affine() const override { return true; }
    void check_plannable(const std::vector<LayerSpec>& layers, size_t i) const override {
        check_folds_into_convolution(layers, i);
    }
    size_t plan(InferencePlan&, const std::vector<LayerSpec>& layers, size_t i) const override {
        check_plannable(layers, i);
        return 1;  // not reached: the convolution before it folded it
    }
};

// A copy of a float blob with a new shape (same number of values).
cv::Mat reshaped_copy(const cv::Mat& blob, const std::vector<int>& shape);

// A 1-D float tensor of `n` copies of `value`.
cv::Mat filled(int n, float value);

// The layer's bias blob (blobs[1]) as [out], or zeros when it has none.
cv::Mat bias_or_zero(const cv::dnn::Layer& layer, int out);

}  // namespace cvtl
