#pragma once
// Where a sweep's trial stands (sweep.hpp): what sweep.md and sweep.csv report for each candidate.
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// pending: still in the running; complete: trained on every fold its last rung asked for;
// eliminated: behind at a rung, or stopped by the epoch gate; cut: stopped by the time budget
// mid-training; skipped: never started, the budget could not fit it; failed: its training threw.
enum class TrialStatus { pending, complete, eliminated, cut, skipped, failed };

inline constexpr NameTable<TrialStatus, 6> kTrialStatusNames{{
    {TrialStatus::pending, "pending"},
    {TrialStatus::complete, "complete"},
    {TrialStatus::eliminated, "eliminated"},
    {TrialStatus::cut, "cut"},
    {TrialStatus::skipped, "skipped"},
    {TrialStatus::failed, "failed"},
}};

inline const char* to_string(TrialStatus status) { return name_in(kTrialStatusNames, status); }

// Throws cvtl::Error for an unknown name, naming `source` (where it was read) when given.
inline TrialStatus parse_trial_status(const std::string& text, const std::string& source = "") {
    return value_in(kTrialStatusNames, text, "trial status", source);
}

}  // namespace cvtl
