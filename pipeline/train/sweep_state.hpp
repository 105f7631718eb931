#pragma once
// The sweep's files: sweep.json, the state an interrupted sweep resumes from (its settings, every
// fold's curves, the trainings the epoch gate stopped), written atomically; and the directory's size.
#include "pipeline/train/sweep.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace cvtl {

inline constexpr const char* kStateFormat = "cvtl-sweep";
inline constexpr int kStateVersion = 1;

nlohmann::json fold_json(const SweepFold& f);

// A fold record read back from `file`, checked (accuracies in [0, 1], curves of one length); throws
// cvtl::Error naming the file and the fix.
SweepFold fold_from_json(const nlohmann::json& j, const std::string& file);

// Writes `j` to PATH.tmp and renames it over PATH, so a reader sees the old file or the new one.
void write_json_atomically(const std::string& path, const nlohmann::json& j);

// Bytes under `dir`: the sweep directory's size at its end, which is its peak now that folds keep no
// weights (the retrained winner and its export are the only large files).
std::uint64_t directory_bytes(const std::string& dir);

}  // namespace cvtl
