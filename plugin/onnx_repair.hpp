#pragma once
#include <istream>
#include <string>

namespace cvtl {

struct OnnxRepair {
    std::string bytes;       // the repaired serialized model; empty when nothing needed repair
    int replaced_nodes = 0;  // Identity nodes replaced by initializer copies
    int repaired_clips = 0;  // Clip nodes whose bounds became attributes
    int input_size = 0;      // spatial size of the first graph input when square and fixed, else 0
};

// PyTorch 1.13's exporter merges identical initializers (e.g. the all-zero biases of a freshly
// initialised torchvision VGG) into Identity nodes, which OpenCV 4.6's importer refuses
// (`inputs.size()` assertion). Each Identity whose input is an initializer becomes a copy of
// that initializer under the Identity's output name, so cv::dnn sees plain constants.
// PyTorch exports ReLU6 (MobileNetV2) at opset 11 as Clip whose min and max are inputs (from Constant
// nodes), and OpenCV 4.6 reads Clip's bounds from attributes only (`Node [Clip@ai.onnx] parse error`):
// each such Clip gets its constant bounds as attributes, the form of opsets 6-10.
// Reads the model from `in`; the parsed graph is freed before returning, so a large model is held
// in memory once at a time.
OnnxRepair repair_onnx(std::istream& in, const std::string& path_for_errors);

}  // namespace cvtl
