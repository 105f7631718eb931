#pragma once
// The classifier strategy's head: which layers are trained on the tap.
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// source: the model's hidden fully connected layers (their weights as a start) and a new output
// layer, on pool5; linear: one new linear layer on any tap (a probe).
enum class ClassifierHead { source, linear };

inline constexpr NameTable<ClassifierHead, 2> kClassifierHeadNames{{
    {ClassifierHead::source, "source"},
    {ClassifierHead::linear, "linear"},
}};

inline const char* to_string(ClassifierHead head) { return name_in(kClassifierHeadNames, head); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline ClassifierHead parse_classifier_head(const std::string& text, const std::string& source = "") {
    return value_in(kClassifierHeadNames, text, "{head}", source);
}

}  // namespace cvtl
