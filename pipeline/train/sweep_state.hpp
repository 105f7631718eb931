#pragma once
// The sweep's files: sweep.json, the state an interrupted sweep resumes from (its settings, every
// fold's curves, the trainings the epoch gate stopped), written atomically; and the directory's size.
#include "pipeline/train/sweep.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cvtl {

inline constexpr const char* kStateFormat = "cvtl-sweep";
inline constexpr int kStateVersion = 1;
// How the note of a training the epoch gate stopped begins.
inline constexpr const char* kGateNote = "stopped at epoch ";

// A training the epoch gate stopped, as sweep.json keeps it: no fold result, but its note and the
// time it took (the report counts it). Sweeps before the time was kept recorded the note alone.
struct AbandonedTraining {
    std::string note;
    double seconds = 0;
    int epochs = 0;
};

// What an interrupted sweep left: each candidate's finished folds, and the trainings the gate stopped.
struct SavedSweep {
    std::map<std::string, std::vector<SweepFold>> folds;
    std::map<std::string, AbandonedTraining> abandoned;
};

// sweep.json's contents: the settings (a resume must match them), every trial's folds, and its
// stopped training when the gate stopped it.
nlohmann::json state_json(const nlohmann::json& settings, const std::vector<SweepTrial>& trials);

// DIR/sweep.json read back, every record checked; empty when there is none. Throws cvtl::Error
// naming the file and the fix when it is damaged, of another version, or of other settings.
SavedSweep read_state(const std::string& dir, const nlohmann::json& settings);

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
