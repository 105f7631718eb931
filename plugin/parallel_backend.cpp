#include "plugin/parallel_backend.hpp"

#include <opencv2/core/parallel/parallel_backend.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <memory>

namespace cvtl {
namespace {

class SharedArenaBackend : public cv::parallel::ParallelForAPI {
public:
    explicit SharedArenaBackend(int threads) : threads_(threads) {}

    void parallel_for(int tasks, FN_parallel_for_body_cb_t body, void* data) override {
        oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<int>(0, tasks),
                                  [&](const oneapi::tbb::blocked_range<int>& r) { body(r.begin(), r.end(), data); });
    }
    int getThreadNum() const override {
        const int index = oneapi::tbb::this_task_arena::current_thread_index();
        return index == oneapi::tbb::task_arena::not_initialized ? 0 : index;
    }
    int getNumThreads() const override { return threads_; }
    int setNumThreads(int threads) override {
        const int previous = threads_;
        if (threads > 0) threads_ = threads;
        return previous;
    }
    const char* getName() const override { return "cvtl-shared-tbb-arena"; }

private:
    int threads_;
};

}  // namespace

void use_shared_tbb_arena_for_opencv(int threads) {
    cv::parallel::setParallelForBackend(std::make_shared<SharedArenaBackend>(threads), false);
}

}  // namespace cvtl
