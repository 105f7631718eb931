#pragma once
// What a training run records of how it was made (model.h5's and checkpoint.h5's meta), and the
// check that a resumed run continues the same experiment.
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/train/run_state.hpp"
#include "pipeline/train/trainer.hpp"
#include "plugin/model_loader.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace cvtl {

// The run's meta: strategy, tap, source model and cache identity, and every option that shapes the
// trajectory. `has_source_weights`: the network above the tap starts from the source's weights.
nlohmann::json run_meta(const TrainOptions& o, const CacheInfo& info, const std::vector<std::string>& classes,
                        const ModelFiles& model, bool has_source_weights, const std::string& tap, int threads,
                        Precision precision);

// Throws cvtl::Error naming `path` and the first recorded option that differs from `meta`'s, or a
// network other than `spec`.
void check_resumable(const RunState& saved, const nlohmann::json& meta, const NetworkSpec& spec,
                     const std::string& path);

}  // namespace cvtl
