#pragma once
// cvtl export: a run directory -> one ONNX file stock OpenCV loads, plus a sidecar NAME.json.
#include <cstdint>
#include <string>

namespace cvtl {

struct ExportOptions {
    std::string run;         // run directory (its model.h5)
    std::string output;      // MODEL.onnx
    std::string model;       // source model for the frozen layers; default: the one the run recorded
    std::string weights;     // Caffe weights; default: the run's when `model` is too, else next to `model`
    bool head_only = false;  // only the trained part, reading the run's tap
    bool force = false;      // replace an existing output
};

struct ExportSummary {
    std::string onnx, sidecar;
    int frozen_layers = 0, trained_layers = 0;
    double max_difference = 0;  // cv::dnn vs cvtl's own forward on the verification inputs
    int verified_samples = 0;
    std::uint64_t bytes = 0;
};

// Writes the network (frozen source layers with their weights copied exactly, then the trained
// layers, then Softmax), runs the ONNX checker and shape inference, reloads the file with
// cv::dnn::readNetFromONNX and compares its logits with cvtl's own forward on cached samples
// (or seeded inputs when the cache lacks them); a difference above 1e-4 is an error and nothing
// is written. MODEL.json is written with it; either existing file is refused without `force`, and
// no temporary file survives an error. Throws cvtl::Error.
ExportSummary run_export(const ExportOptions& options);

// Maximum allowed |cv::dnn - cvtl| on an exported model's logits, relative to the largest logit
// magnitude (at least 1).
inline constexpr double kExportTolerance = 1e-4;

}  // namespace cvtl
