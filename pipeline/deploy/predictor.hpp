#pragma once
// cvtl predict: classify image files and folders through the batch pipeline.
#include "pipeline/data/image_decode.hpp"  // kDefaultMaxImageBytes
#include "pipeline/deploy/classifier_model.hpp"

#include <cstdint>

#include <string>
#include <utility>
#include <vector>

namespace cvtl {

struct Prediction {
    std::string path;
    std::string error;                               // why the image was skipped
    std::vector<std::pair<std::string, float>> top;  // best first
};

// Classifies image files and the images under folders (recursively), in the order given. A file
// larger than `max_image_bytes` is skipped unread (its Prediction says why).
std::vector<Prediction> run_prediction(const std::string& model, const std::vector<std::string>& inputs, int top_k,
                                       const ClassifierOptions& classifier, int batch, int threads,
                                       std::uint64_t max_image_bytes = kDefaultMaxImageBytes);

}  // namespace cvtl
