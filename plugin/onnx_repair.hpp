#pragma once
#include <string>

namespace cvtl {

struct OnnxRepair {
    std::string bytes;       // the serialized model, repaired or as it was
    int replaced_nodes = 0;  // Identity nodes replaced by initializer copies
    int input_size = 0;      // spatial size of the first graph input when square and fixed, else 0
};

// PyTorch 1.13's exporter merges identical initializers (e.g. the all-zero biases of a freshly
// initialised torchvision VGG) into Identity nodes, which OpenCV 4.6's importer refuses
// (`inputs.size()` assertion). Each Identity whose input is an initializer becomes a copy of
// that initializer under the Identity's output name, so cv::dnn sees plain constants.
OnnxRepair repair_onnx(const std::string& bytes, const std::string& path_for_errors);

}  // namespace cvtl
