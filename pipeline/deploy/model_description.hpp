#pragma once
// What a cvtl export says about itself: its class names and the preprocessing its input expects,
// from the sidecar MODEL.json or from the ONNX file's metadata_props. Both are files a user may
// have edited or damaged, so every field is validated where it is read.
#include "pipeline/data/preprocess.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace cvtl {

// More classes than any classifier cvtl trains; a list beyond it is damage, not data.
inline constexpr std::size_t kMaxClasses = 1u << 20;

struct ModelDescription {
    std::vector<std::string> classes;
    Preprocessing preprocess;
    std::string tap = "input";  // what the model reads: images ("input"), or a tap's activations (--head-only)
};

// The sidecar's JSON text. Throws cvtl::Error naming `source` when it is not a cvtl-model sidecar
// or any field is missing or out of range.
ModelDescription parse_sidecar(const std::string& text, const std::string& source);

// The cvtl.classes and cvtl.preprocess entries of an ONNX model's metadata. Returns false when the
// model carries no cvtl metadata; throws cvtl::Error naming `source` when it is malformed.
bool parse_metadata(const std::map<std::string, std::string>& metadata, const std::string& source,
                    ModelDescription& out);

// Class names as a model lists them: 1..kMaxClasses non-empty, distinct names.
void check_class_names(const std::vector<std::string>& classes, const std::string& source);

}  // namespace cvtl
