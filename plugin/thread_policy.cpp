#include "plugin/thread_policy.hpp"

#include "plugin/layers/onednn_context.hpp"
#include "plugin/parallel_backend.hpp"

#include <oneapi/tbb/global_control.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>

namespace cvtl {
namespace {

std::mutex control_mutex;
std::unique_ptr<oneapi::tbb::global_control> tbb_cap;  // guarded by control_mutex

}  // namespace

int resolve_threads(int requested) {
    return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int apply_thread_policy(int requested) {
    const int threads = resolve_threads(requested);
    {
        std::lock_guard<std::mutex> lock(control_mutex);
        tbb_cap.reset();
        tbb_cap = std::make_unique<oneapi::tbb::global_control>(oneapi::tbb::global_control::max_allowed_parallelism,
                                                                static_cast<size_t>(threads));
    }
    use_shared_tbb_arena_for_opencv(threads);
    set_engine_threads(threads);
    return threads;
}

}  // namespace cvtl
