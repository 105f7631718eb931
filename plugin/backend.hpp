#pragma once
// The cv::dnn backend and target a stock cv::dnn net runs on.
#include "pipeline/core/vocabulary.hpp"

#include <opencv2/dnn.hpp>

#include <string>

namespace cvtl {

// cpu; opencl; cuda; cuda_fp16: CUDA computing in half precision.
enum class Backend { cpu, opencl, cuda, cuda_fp16 };

inline constexpr NameTable<Backend, 4> kBackendNames{{
    {Backend::cpu, "cpu"},
    {Backend::opencl, "opencl"},
    {Backend::cuda, "cuda"},
    {Backend::cuda_fp16, "cuda-fp16"},
}};

inline const char* to_string(Backend backend) { return name_in(kBackendNames, backend); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline Backend parse_backend(const std::string& text, const std::string& source = "") {
    return value_in(kBackendNames, text, "{backend}", source);
}

// Sets the cv::dnn backend/target for `backend`. When this OpenCV build or machine lacks it, the net
// stays on the CPU and `warning` says why. Returns the backend actually used.
Backend select_backend(cv::dnn::Net& net, Backend backend, std::string& warning);

}  // namespace cvtl
