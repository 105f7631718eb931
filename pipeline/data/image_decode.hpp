#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cvtl {

// An image file larger than this is refused unread (a CSV may name /dev/zero or a huge file).
inline constexpr std::uint64_t kDefaultMaxImageBytes = 256ull << 20;

// Converts any decoded image to 8-bit BGR: 16-bit values scaled by 255/65535 (rounded),
// gray replicated to three channels, alpha dropped.
cv::Mat to_bgr8(const cv::Mat& image);

// Decodes an encoded image (any format OpenCV reads) as 8-bit BGR. On failure returns an empty Mat
// and sets `reason`. The bytes are untrusted: OpenCV's own pixel limit (OPENCV_IO_MAX_IMAGE_PIXELS)
// bounds what a small file may make it allocate.
cv::Mat decode_bgr8(const std::vector<uchar>& bytes, std::string& reason);

// Reads and decodes an image file as 8-bit BGR. On failure returns an empty Mat and sets
// `reason` (e.g. "cannot be decoded: not an image or corrupt", "truncated JPEG"). Anything but a
// regular file (a FIFO would block, a device never ends) and files over `max_bytes` are refused
// without being read.
cv::Mat read_bgr8(const std::string& path, std::string& reason, std::uint64_t max_bytes = kDefaultMaxImageBytes);

}  // namespace cvtl
