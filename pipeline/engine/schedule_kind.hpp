#pragma once
// The shape of a learning-rate schedule over the epochs (optimizer.hpp, Schedule).
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// constant; step: multiplied by gamma every step_epochs; cosine: half a cosine down to 0.
enum class ScheduleKind { constant, step, cosine };

inline constexpr NameTable<ScheduleKind, 3> kScheduleKindNames{{
    {ScheduleKind::constant, "constant"},
    {ScheduleKind::step, "step"},
    {ScheduleKind::cosine, "cosine"},
}};

inline const char* to_string(ScheduleKind kind) { return name_in(kScheduleKindNames, kind); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline ScheduleKind parse_schedule_kind(const std::string& text, const std::string& source = "") {
    return value_in(kScheduleKindNames, text, "{schedule}", source);
}

}  // namespace cvtl
