#include "pipeline/train/run_meta.hpp"

#include "pipeline/core/error.hpp"

#include <cvtl/version.hpp>

namespace cvtl {

nlohmann::json run_meta(const TrainOptions& o, const CacheInfo& info, const std::vector<std::string>& classes,
                        const ModelFiles& model, bool has_source_weights, const std::string& tap, int threads,
                        Precision precision) {
    nlohmann::json mult = nlohmann::json::object();
    for (const auto& [block, m] : o.lr_mult) mult[block] = m;
    return {{"strategy", to_string(o.strategy)},
            {"head", to_string(o.head)},
            {"tap", tap},
            {"from_block", o.from_block},
            {"classes", classes},
            {"preprocess", info.attributes.at("preprocess")},
            {"source_sha256", info.attributes.value("model_sha256", "")},
            {"source_model", model.path},
            {"source_model_weights", model.weights},
            {"cache", o.cache},
            {"cache_fingerprint", info.attributes.value("dataset_fingerprint", "")},
            {"cvtl_version", kVersion},
            {"source_weights", has_source_weights && o.strategy != Strategy::scratch},
            {"custom_rows", !o.row_roles.empty()},
            {"options",
             {{"epochs", o.epochs},
              {"batch", o.batch},
              {"optimizer", to_string(o.optimizer.kind.value())},
              {"lr", o.schedule.base_lr},
              {"schedule", to_string(o.schedule.kind.value())},
              {"warmup", o.schedule.warmup_epochs},
              {"weight_decay", o.optimizer.weight_decay},
              {"momentum", o.optimizer.momentum},
              {"nesterov", o.optimizer.nesterov},
              {"lr_mult", mult},
              {"dropout", o.dropout},
              {"bn", to_string(o.bn)},
              {"keep_epoch", to_string(o.keep_epoch)},
              {"seed", o.seed},
              {"stop_epoch", o.stop_epoch},
              {"threads", threads},
              {"precision", to_string(precision)}}}};
}

// A resumed run must continue the same experiment: every option that shapes the trajectory matches.
void check_resumable(const RunState& saved, const nlohmann::json& meta, const NetworkSpec& spec,
                     const std::string& path) {
    for (const char* key : {"strategy", "tap", "source_sha256", "cache_fingerprint", "classes"})
        if (saved.meta.at(key) != meta.at(key))
            throw Error("{resume}: " + path + " was made with another " + key + " (" + saved.meta.at(key).dump() + ")");
    if (saved.spec != spec.to_json()) throw Error("{resume}: " + path + " holds another network (options changed?)");
    const auto& was = saved.meta.at("options");
    const auto& now = meta.at("options");
    for (const char* key : {"epochs", "batch", "optimizer", "lr", "schedule", "warmup", "weight_decay", "momentum",
                            "nesterov", "lr_mult", "dropout", "bn", "keep_epoch", "seed", "precision"}) {
        const nlohmann::json before = was.contains(key) ? was.at(key) : now.at(key);  // older runs lack some keys
        if (before != now.at(key))
            throw Error("{resume}: the run in " + path + " was started with " + key + " " + before.dump() + ", not " +
                        now.at(key).dump() + "; resume with the same options or start over with {force}");
    }
}

}  // namespace cvtl
