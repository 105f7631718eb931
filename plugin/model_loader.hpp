#pragma once
#include "plugin/model_format.hpp"

#include <opencv2/dnn.hpp>

#include <string>

namespace cvtl {

// A pretrained source model loaded through cv::dnn, with what identifies it.
struct SourceModel {
    cv::dnn::Net net;
    std::string path;     // the file the user named
    std::string weights;  // Caffe: the .caffemodel read with the prototxt; empty for ONNX
    ModelFormat format = ModelFormat::onnx;
    std::string sha256;  // of the weights file; binds caches and runs to this model
    int input_size =
        0;  // declared square input size (ONNX input, Caffe Input layer or input_shape), 0 when the model does not say
    int repaired_nodes = 0;  // ONNX Identity nodes repaired on load (see onnx_repair.hpp)
    int repaired_clips = 0;  // ONNX Clip nodes whose bounds were moved to attributes on load
};

// Loads ONNX (.onnx) or Caffe (.prototxt with a .caffemodel next to it, or `weights`) through
// cv::dnn. Throws cvtl::Error naming the file on failure (TensorFlow's .pb with the fix: convert it).
SourceModel load_model(const std::string& path, const std::string& weights = "");

// Which source model a later command (train, sweep, export) loads: the one named on its command
// line, else the one recorded by the command before it. Recorded Caffe weights belong to the
// recorded prototxt, so a newly named prototxt without --weights finds the .caffemodel next to it.
struct ModelFiles {
    std::string path, weights;
};
ModelFiles choose_model(const ModelFiles& given, const ModelFiles& recorded);

}  // namespace cvtl
