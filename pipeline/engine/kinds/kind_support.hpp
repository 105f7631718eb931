#pragma once
// Small helpers the kind descriptors share: reading cv::dnn layer parameters and making tensors.
#include "pipeline/engine/layer_kind.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <cstdint>
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

// A stored layer's arguments (LayerSpec::args, read back from run files: untrusted), read into a kind's
// typed arguments struct with one check per value. Throws cvtl::Error naming the kind and argument;
// the network adds the layer's name (make_layer).
class ArgReader {
public:
    ArgReader(const nlohmann::json& args, const char* kind) : args_(args), kind_(kind) {}
    int integer(const char* name, int min) const;
    // An optional integer: `absent` when the arguments lack it (runs written before it existed).
    int integer(const char* name, int min, int absent) const;
    float number(const char* name, float min, float max) const;
    bool flag(const char* name) const;
    // An optional flag: `absent` when the arguments lack it (runs written before it existed).
    bool flag(const char* name, bool absent) const;
    std::uint64_t unsigned_integer(const char* name) const;

private:
    const nlohmann::json& value(const char* name) const;
    [[noreturn]] void wrong(const char* name, const std::string& expected) const;
    const nlohmann::json& args_;
    const char* kind_;
};

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
