#include "plugin/tap_forward.hpp"

#include "pipeline/core/error.hpp"

#include <algorithm>

namespace cvtl {

std::vector<cv::Mat> forward_taps(cv::dnn::Net& net, const BlockMap& map, const std::vector<std::string>& taps,
                                  const cv::Mat& blob) {
    const int n = blob.size[0];
    std::vector<cv::String> layers;
    for (const auto& t : taps)
        if (t != "input") layers.push_back(map.tap(t).layer_name);
    std::vector<cv::Mat> outs;
    if (!layers.empty() && n > 0) {
        net.setInput(blob);
        net.forward(outs, layers);
    }
    std::vector<cv::Mat> result;
    size_t k = 0;
    for (const auto& t : taps) {
        if (t == "input") {
            result.push_back(blob);
            continue;
        }
        std::vector<int> shape{n};
        for (int d : map.tap(t).shape) shape.push_back(d);
        cv::Mat out(shape, CV_32F);
        if (n > 0) {
            CVTL_ASSERT(outs[k].type() == CV_32F && outs[k].total() == out.total());
            std::copy_n(outs[k].ptr<float>(), out.total(), out.ptr<float>());
        }
        ++k;
        result.push_back(out);
    }
    return result;
}

}  // namespace cvtl
