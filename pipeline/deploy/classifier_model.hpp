#pragma once
#include "pipeline/core/events.hpp"
// A model to classify images with: a cvtl export (classes and preprocessing from its sidecar or
// ONNX metadata) or a plain source model (strategy 1) with a labels file and a preset.
#include "pipeline/data/preprocess.hpp"
#include "pipeline/cache/tap_engine.hpp"
#include "plugin/model_loader.hpp"

#include <memory>
#include <optional>

#include <functional>
#include <string>
#include <vector>

namespace cvtl {

struct ClassifierModel {
    std::shared_ptr<SourceModel> source;  // shared: the engine refers to it
    std::shared_ptr<BlockMap> map;        // null when the model is not VGG-shaped (then stock cv::dnn runs it)
    std::shared_ptr<TapEngine> engine;
    std::vector<std::string> classes;
    Preprocessing preprocess;
    bool outputs_probabilities = false;  // cvtl exports end in Softmax; source models give logits
    std::string origin;                  // where classes and preprocessing came from, for messages
    std::string tap = "input";           // what it reads: images, or a tap's activations (a head-only export)

    // Class probabilities [N, classes] for a preprocessed batch [N, 3, S, S].
    cv::Mat probabilities(const cv::Mat& blob);
};

struct ClassifierOptions {
    std::string labels;            // one class name per line; required for plain source models
    std::string weights;           // Caffe source models: the .caffemodel when not next to the .prototxt
    std::optional<Preset> preset;  // plain source models (default torchvision)
    int size = 0;                  // plain source models: input size when the model does not declare it
    EngineChoice engine;           // onednn (fast path, when the model is VGG-shaped) or opencv
    Events events;                 // the library never prints: warnings go here
};

// Throws cvtl::Error naming the file and the missing piece (e.g. "--labels FILE").
ClassifierModel open_classifier(const std::string& path, const ClassifierOptions& options);

// Indices of the k largest values of a probability row, best first.
std::vector<int> top_classes(const cv::Mat& row, int k);

}  // namespace cvtl
