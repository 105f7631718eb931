#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace cvtl::test {

// A float dataset of an HDF5 file (fixture or cache) as an N-d float32 Mat; float16 is converted.
cv::Mat read_tensor(const std::string& file, const std::string& dataset);

// A string attribute of the file's root.
std::string read_root_string(const std::string& file, const std::string& name);

// Strings of a 1-D dataset.
std::vector<std::string> read_string_list(const std::string& file, const std::string& dataset);

struct Diff {
    double max_abs = 0;
    double mean_abs = 0;
};
// Element-wise difference of two float32 Mats of the same total size.
Diff diff(const cv::Mat& a, const cv::Mat& b);

}  // namespace cvtl::test
