#pragma once
// A run's saved state in HDF5: the trained model (model.h5) and the resumable checkpoint
// (checkpoint.h5) share one versioned format.
//
//   /         attrs: format="cvtl-run", version=1, kind ("model" | "checkpoint"),
//                    meta (JSON: classes, preprocess, strategy, source model, cache, tap, options),
//                    spec (JSON: the network, see NetworkSpec), progress (JSON: epoch, steps, ...)
//   /weights/<layer.param>      float32, the parameter's shape (also batch-norm running statistics)
//   /optimizer/<layer.param>/first|second   optimizer state (checkpoints only)
#include "pipeline/engine/weights.hpp"
#include "pipeline/train/run_kind.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace cvtl {

inline constexpr const char* kRunFormat = "cvtl-run";
inline constexpr int kRunVersion = 1;

struct RunState {
    RunKind kind = RunKind::model;
    nlohmann::json meta;
    nlohmann::json spec;
    nlohmann::json progress;
    WeightMap weights;
    std::map<std::string, cv::Mat> optimizer;
};

// Written to PATH.tmp then renamed over PATH, so a crash never leaves a half-written file.
void save_run_state(const std::string& path, const RunState& state);

// Throws cvtl::Error naming the file when it is not a cvtl run file of a known version.
RunState load_run_state(const std::string& path);

}  // namespace cvtl
