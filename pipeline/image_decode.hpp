#pragma once
#include <opencv2/core.hpp>

#include <string>

namespace cvtl {

// Converts any decoded image to 8-bit BGR: 16-bit values scaled by 255/65535 (rounded),
// gray replicated to three channels, alpha dropped.
cv::Mat to_bgr8(const cv::Mat& image);

// Reads and decodes an image file as 8-bit BGR. On failure returns an empty Mat and sets
// `reason` (e.g. "cannot be decoded: not an image or corrupt", "truncated JPEG").
cv::Mat read_bgr8(const std::string& path, std::string& reason);

}  // namespace cvtl
