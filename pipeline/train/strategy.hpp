#pragma once
// What a training retrains above its tap (docs/architecture.md, "Where each concept lives").
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// classifier: the fully connected part, on pool5 (or a linear probe on any tap, ClassifierHead);
// finetune: blocks K..5 and the classifier; scratch: every layer, from fresh weights.
enum class Strategy { classifier, finetune, scratch };

inline constexpr NameTable<Strategy, 3> kStrategyNames{{
    {Strategy::classifier, "classifier"},
    {Strategy::finetune, "finetune"},
    {Strategy::scratch, "scratch"},
}};

inline const char* to_string(Strategy strategy) { return name_in(kStrategyNames, strategy); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline Strategy parse_strategy(const std::string& text, const std::string& source = "") {
    return value_in(kStrategyNames, text, "{strategy}", source);
}

}  // namespace cvtl
