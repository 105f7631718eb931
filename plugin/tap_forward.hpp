#pragma once
#include "plugin/block_map.hpp"

#include <opencv2/dnn.hpp>

#include <string>
#include <vector>

namespace cvtl {

// Runs one forward pass of `net` on `blob` [N, 3, S, S] and returns the output of every tap in
// `taps` (names from tap_names(), in any order) as its own float32 Mat [N, ...]; "input" is `blob`
// itself. The outputs are copies: the net reuses its buffers on the next forward.
std::vector<cv::Mat> forward_taps(cv::dnn::Net& net, const BlockMap& map, const std::vector<std::string>& taps,
                                  const cv::Mat& blob);

}  // namespace cvtl
