#include "plugin/backend.hpp"

#include <opencv2/core/ocl.hpp>

#include <algorithm>

namespace cvtl {
namespace {

bool has_target(cv::dnn::Backend backend, cv::dnn::Target target) {
    const auto targets = cv::dnn::getAvailableTargets(backend);
    return std::find(targets.begin(), targets.end(), target) != targets.end();
}

}  // namespace

Backend select_backend(cv::dnn::Net& net, Backend wanted, std::string& warning) {
    warning.clear();
    cv::dnn::Backend backend = cv::dnn::DNN_BACKEND_OPENCV;
    cv::dnn::Target target = cv::dnn::DNN_TARGET_CPU;
    bool available = true;
    if (wanted == Backend::opencl) {
        target = cv::dnn::DNN_TARGET_OPENCL;
        available = cv::ocl::haveOpenCL() && has_target(backend, target);
    } else if (wanted == Backend::cuda || wanted == Backend::cuda_fp16) {
        backend = cv::dnn::DNN_BACKEND_CUDA;
        target = wanted == Backend::cuda ? cv::dnn::DNN_TARGET_CUDA : cv::dnn::DNN_TARGET_CUDA_FP16;
        available = has_target(backend, target);
    }
    if (!available) {
        warning = std::string("backend ") + to_string(wanted) +
                  " is not available in this OpenCV build or on this machine; running on the CPU";
        backend = cv::dnn::DNN_BACKEND_OPENCV;
        target = cv::dnn::DNN_TARGET_CPU;
    }
    net.setPreferableBackend(backend);
    net.setPreferableTarget(target);
    return available ? wanted : Backend::cpu;
}

}  // namespace cvtl
