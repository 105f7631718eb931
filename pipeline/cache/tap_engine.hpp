#pragma once
// Runs a source model forward to a set of taps on the engine the user chose: cvtl's oneDNN fast
// path (default) or stock cv::dnn (`--engine opencv`, and any --backend other than cpu).
#include "pipeline/cache/engine.hpp"
#include "plugin/backend.hpp"
#include "plugin/block_map.hpp"
#include "pipeline/core/events.hpp"
#include "pipeline/engine/layers/precision.hpp"
#include "plugin/inference_net.hpp"
#include "plugin/model_loader.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cvtl {

struct EngineChoice {
    Engine engine = Engine::onednn;
    Precision precision = Precision::f32;  // bf16: onednn only
    Backend backend = Backend::cpu;        // cv::dnn backend for the opencv engine
    int threads = 0;                       // 0: every core
};

class TapEngine {
public:
    // Falls back (with a warning) to stock cv::dnn when the fast path cannot run the model, and to
    // f32 when the CPU lacks bf16. Throws cvtl::Error for bf16 on stock cv::dnn.
    TapEngine(SourceModel& model, const BlockMap& map, std::vector<std::string> taps, const EngineChoice& choice,
              const Events& events);
    ~TapEngine();

    // blob [N, 3, S, S] -> one Mat per tap, [N, ...] f32, in the order of `taps`.
    std::vector<cv::Mat> operator()(const cv::Mat& blob);

    std::string description() const;  // e.g. "onednn f32", "opencv cpu"
    std::string precision() const { return precision_; }

private:
    SourceModel& model_;
    const BlockMap& map_;
    std::vector<std::string> taps_;
    Engine engine_;
    Backend backend_;
    std::string precision_;  // the arithmetic that ran, as the cache records it: f32, bf16, or f16 (cuda-fp16)
    int threads_ = 1;
    std::unique_ptr<InferenceNet> fast_;
    std::vector<int> layers_;  // fast path: spec layer of each tap (-1 for input)
};

}  // namespace cvtl
