#include "pipeline/cache/tap_engine.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/data/batch_runner.hpp"
#include "plugin/backend.hpp"
#include "plugin/head_builder.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "plugin/tap_forward.hpp"

#include <algorithm>

namespace cvtl {

TapEngine::TapEngine(SourceModel& model, const BlockMap& map, std::vector<std::string> taps, const EngineChoice& choice,
                     const Events& events)
    : model_(model),
      map_(map),
      taps_(std::move(taps)),
      engine_(choice.engine),
      backend_(choice.backend),
      threads_(resolve_threads(choice.threads)) {
    Precision precision = choice.precision;
    if (engine_ == Engine::onednn && backend_ != Backend::cpu) {
        events.warning(std::string("{backend} ") + to_string(backend_) +
                       " runs on stock cv::dnn; using {engine} opencv");
        engine_ = Engine::opencv;
    }
    if (precision == Precision::bf16 && engine_ == Engine::opencv)
        throw Error("{precision} bf16 needs {engine} onednn");
    if (precision == Precision::bf16 && !cpu_has_bf16()) {
        events.warning("this CPU has no AVX512-BF16: running in f32 (bf16 would be emulated and slower)");
        precision = Precision::f32;
    }
    precision_ = to_string(precision);
    if (engine_ == Engine::onednn) {
        try {
            // The network up to the deepest tap read, weights copied from the cv::dnn layers.
            std::string deepest;
            for (const std::string& t : tap::all(map.tap_style()))
                if (t != tap::input && std::find(taps_.begin(), taps_.end(), t) != taps_.end()) deepest = t;
            if (!deepest.empty()) {
                HeadOptions o;
                o.from_tap = tap::input;
                o.keep_source_output = true;
                if (deepest != tap::logits) o.until_tap = deepest;
                Head head = build_head(model.net, map, o);
                fast_ = std::make_unique<InferenceNet>(head.spec, head.source_weights, precision);
                for (const std::string& t : taps_)
                    layers_.push_back(t == tap::input ? -1 : head_layer_at_tap(head.spec, t));
            }
        } catch (const Error& e) {
            events.warning(std::string("the oneDNN fast path cannot run this model (") + e.message() +
                           "); using stock cv::dnn");
            engine_ = Engine::opencv;
            precision_ = to_string(Precision::f32);
            fast_.reset();
        }
    }
    if (engine_ == Engine::opencv) {
        std::string warning;
        backend_ = select_backend(model.net, backend_, warning);
        if (!warning.empty()) events.warning(warning);
        // The cache records the arithmetic that produced it: CUDA's fp16 target computes in half precision.
        if (backend_ == Backend::cuda_fp16) precision_ = "f16";
    }
}

TapEngine::~TapEngine() = default;

std::vector<cv::Mat> TapEngine::operator()(const cv::Mat& blob) {
    if (engine_ == Engine::opencv) return forward_taps(model_.net, map_, taps_, blob);
    // OpenMP's team size is per calling thread, and pipeline stages move between TBB threads.
    set_engine_threads(threads_);
    std::vector<int> wanted;
    for (int l : layers_)
        if (l >= 0) wanted.push_back(l);
    std::vector<cv::Mat> computed = fast_ ? fast_->forward(blob, wanted) : std::vector<cv::Mat>{};
    std::vector<cv::Mat> out;
    size_t k = 0;
    for (int l : layers_) out.push_back(l < 0 ? blob : computed[k++]);
    return out;
}

std::string TapEngine::description() const {
    return std::string(to_string(engine_)) + " " + (engine_ == Engine::onednn ? precision_ : to_string(backend_));
}

}  // namespace cvtl
