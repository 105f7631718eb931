#pragma once
// cvtl's one thread policy: `--threads T` (0: every core) is the only knob, and every pool obeys it.
//
//  - The batch pipeline (decode/preprocess tasks, then the serial network and writer stages) runs in a
//    oneTBB arena of T slots, with at most T + 2 batches in flight.
//  - OpenCV's parallel loops (stock cv::dnn layers) run as tasks of that same arena
//    (parallel_backend.hpp), so the network and decoding share the T threads instead of two pools.
//  - oneDNN's kernels (the fast path, the training layers) run on an OpenMP team of T threads led by
//    the thread that runs the network; OpenMP's team size is per calling thread, so the network stage
//    sets it each time it starts (set_engine_threads; pipeline stages move between TBB threads).
//  - oneTBB's global parallelism is capped at T, so no other TBB pool grows beside these.
// Decoding beside an OpenMP team is the one overlap left: it is ~1.2 ms per image against 70-230 ms for
// the network, and tools/bench/bench_threads.sh measures what it costs (the network stage's busy share).
#include <oneapi/tbb/global_control.h>

#include <memory>

namespace cvtl {

// Threads to use for `requested` (0: every core, divided among the ranks of an mpirun/srun job on this node).
int resolve_threads(int requested);

// The process-wide side of the policy, owned by the caller (a tool's main, or an app that links
// cvtl): caps oneTBB at T, runs OpenCV's parallel loops as tasks of a shared arena of T, and sizes
// the calling thread's OpenMP team (oneDNN's kernels) at T. The library never changes process-wide
// state itself; it only sizes its own arenas and pipelines by `threads`. Create it on the thread that
// will start the work, before any OpenCV work runs on other threads. The oneTBB cap ends with the
// object; OpenCV keeps the shared arena until another policy replaces it.
class ThreadPolicy {
public:
    explicit ThreadPolicy(int requested);
    ~ThreadPolicy();
    ThreadPolicy(const ThreadPolicy&) = delete;
    ThreadPolicy& operator=(const ThreadPolicy&) = delete;
    int threads() const { return threads_; }

private:
    int threads_;
    std::unique_ptr<oneapi::tbb::global_control> cap_;
};

}  // namespace cvtl
