#include "plugin/backend.hpp"

#include "pipeline/core/error.hpp"

#include <opencv2/core/ocl.hpp>

#include <algorithm>

namespace cvtl {
namespace {

bool has_target(cv::dnn::Backend backend, cv::dnn::Target target) {
    const auto targets = cv::dnn::getAvailableTargets(backend);
    return std::find(targets.begin(), targets.end(), target) != targets.end();
}

}  // namespace

std::string select_backend(cv::dnn::Net& net, const std::string& name, std::string& warning) {
    warning.clear();
    cv::dnn::Backend backend = cv::dnn::DNN_BACKEND_OPENCV;
    cv::dnn::Target target = cv::dnn::DNN_TARGET_CPU;
    bool available = true;
    if (name == "opencl") {
        target = cv::dnn::DNN_TARGET_OPENCL;
        available = cv::ocl::haveOpenCL() && has_target(backend, target);
    } else if (name == "cuda" || name == "cuda-fp16") {
        backend = cv::dnn::DNN_BACKEND_CUDA;
        target = name == "cuda" ? cv::dnn::DNN_TARGET_CUDA : cv::dnn::DNN_TARGET_CUDA_FP16;
        available = has_target(backend, target);
    } else if (name != "cpu") {
        throw Error("unknown {backend} '" + name + "' (expected cpu, opencl, cuda or cuda-fp16)");
    }
    if (!available) {
        warning = "backend " + name + " is not available in this OpenCV build or on this machine; running on the CPU";
        backend = cv::dnn::DNN_BACKEND_OPENCV;
        target = cv::dnn::DNN_TARGET_CPU;
    }
    net.setPreferableBackend(backend);
    net.setPreferableTarget(target);
    return available ? name : "cpu";
}

}  // namespace cvtl
