#pragma once
#include <opencv2/dnn.hpp>

#include <string>

namespace cvtl {

// Sets the cv::dnn backend/target for `name` (cpu, opencl, cuda, cuda-fp16). When this OpenCV
// build or machine lacks it, the net stays on the CPU and `warning` says why. Returns the backend
// actually used. Throws cvtl::Error for an unknown name.
std::string select_backend(cv::dnn::Net& net, const std::string& name, std::string& warning);

}  // namespace cvtl
