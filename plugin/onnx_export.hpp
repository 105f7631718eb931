#pragma once
// Writes a trained network as a standard ONNX model that stock cv::dnn::readNetFromONNX loads.
#include "pipeline/engine/weights.hpp"

#include <map>
#include <string>

namespace cvtl {

inline constexpr int kOnnxOpset = 11;  // the opset OpenCV 4.6's importer handles best (10 for a model with a clip)

// Serializes `spec` in inference form (dropout removed, batch norm with running statistics) with
// `weights`, followed by a Softmax: input "input" [N, input_shape...] float32 with a dynamic
// batch, output "prob" [N, classes]. `metadata` becomes metadata_props. The model passes the ONNX
// checker and shape inference before it is returned; throws cvtl::Error otherwise.
std::string serialize_onnx(const NetworkSpec& spec, const WeightMap& weights,
                           const std::map<std::string, std::string>& metadata);

// metadata_props of an ONNX file (stock OpenCV does not expose them); throws cvtl::Error.
std::map<std::string, std::string> read_onnx_metadata(const std::string& path);

// Named float initializers of an ONNX file, for checks that frozen weights were copied exactly.
std::map<std::string, cv::Mat> read_onnx_initializers(const std::string& path);

}  // namespace cvtl
