#pragma once
// The file format of a source model (model_loader.hpp), known from its file name.
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// onnx: one .onnx file; caffe: a .prototxt and its .caffemodel (docs/architecture.md, "Model formats").
enum class ModelFormat { onnx, caffe };

inline constexpr NameTable<ModelFormat, 2> kModelFormatNames{{
    {ModelFormat::onnx, "onnx"},
    {ModelFormat::caffe, "caffe"},
}};

inline const char* to_string(ModelFormat format) { return name_in(kModelFormatNames, format); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline ModelFormat parse_model_format(const std::string& text, const std::string& source = "") {
    return value_in(kModelFormatNames, text, "model format", source);
}

}  // namespace cvtl
