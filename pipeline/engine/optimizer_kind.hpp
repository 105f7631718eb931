#pragma once
// Which update rule an Optimizer applies (optimizer.hpp).
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// sgd: momentum, optionally Nesterov; adam: L2 decay added to the gradient; adamw: decoupled decay.
enum class OptimizerKind { sgd, adam, adamw };

inline constexpr NameTable<OptimizerKind, 3> kOptimizerKindNames{{
    {OptimizerKind::sgd, "sgd"},
    {OptimizerKind::adam, "adam"},
    {OptimizerKind::adamw, "adamw"},
}};

inline const char* to_string(OptimizerKind kind) { return name_in(kOptimizerKindNames, kind); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline OptimizerKind parse_optimizer_kind(const std::string& text, const std::string& source = "") {
    return value_in(kOptimizerKindNames, text, "{optimizer}", source);
}

}  // namespace cvtl
