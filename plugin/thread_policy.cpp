#include "plugin/thread_policy.hpp"

#include "pipeline/engine/layers/onednn_context.hpp"
#include "plugin/parallel_backend.hpp"

#include <oneapi/tbb/global_control.h>

#include <algorithm>
#include <memory>
#include <thread>

namespace cvtl {

int resolve_threads(int requested) {
    return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

ThreadPolicy::ThreadPolicy(int requested)
    : threads_(resolve_threads(requested)),
      cap_(std::make_unique<oneapi::tbb::global_control>(oneapi::tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads_))) {
    use_shared_tbb_arena_for_opencv(threads_);
    set_engine_threads(threads_);
}

ThreadPolicy::~ThreadPolicy() = default;

}  // namespace cvtl
