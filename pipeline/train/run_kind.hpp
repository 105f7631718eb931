#pragma once
// Which of a run's two files a run file is (run_state.hpp): they share one format.
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// model: model.h5, the best weights, what export reads; checkpoint: checkpoint.h5, the last epoch's
// weights and optimizer state, what a resumed training reads.
enum class RunKind { model, checkpoint };

inline constexpr NameTable<RunKind, 2> kRunKindNames{{
    {RunKind::model, "model"},
    {RunKind::checkpoint, "checkpoint"},
}};

inline const char* to_string(RunKind kind) { return name_in(kRunKindNames, kind); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline RunKind parse_run_kind(const std::string& text, const std::string& source = "") {
    return value_in(kRunKindNames, text, "run file kind", source);
}

}  // namespace cvtl
