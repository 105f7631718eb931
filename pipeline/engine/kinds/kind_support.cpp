#include "pipeline/engine/kinds/kind_support.hpp"

#include "pipeline/core/error.hpp"

namespace cvtl {

int square_param(const std::vector<size_t>& per_axis, const std::string& what, const std::string& layer) {
    if (per_axis.empty()) return 0;
    for (size_t x : per_axis)
        if (x != per_axis[0])
            throw Error("layer " + layer + " has a non-square " + what + "; cvtl trains square VGG layers only");
    return static_cast<int>(per_axis[0]);
}

cv::Mat reshaped_copy(const cv::Mat& blob, const std::vector<int>& shape) {
    cv::Mat copy = blob.clone();
    CVTL_ASSERT(copy.type() == CV_32F);
    return copy.reshape(1, shape);
}

cv::Mat filled(int n, float value) { return cv::Mat(std::vector<int>{n}, CV_32F, cv::Scalar(value)); }

cv::Mat bias_or_zero(const cv::dnn::Layer& layer, int out) {
    return layer.blobs.size() > 1 ? reshaped_copy(layer.blobs[1], {out}) : filled(out, 0);
}

}  // namespace cvtl
