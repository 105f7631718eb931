#include "plugin/thread_policy.hpp"

#include "pipeline/engine/layers/onednn_context.hpp"
#include "plugin/parallel_backend.hpp"

#include <oneapi/tbb/global_control.h>

#include <algorithm>
#include <memory>
#include <cstdlib>
#include <thread>

namespace cvtl {

// Processes of this job on this node: mpirun (Open MPI) and srun say so in the environment.
int ranks_on_this_node() {
    for (const char* v : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"})
        if (const char* text = std::getenv(v)) {
            const long n = std::strtol(text, nullptr, 10);
            if (n >= 1 && n <= 4096) return static_cast<int>(n);
        }
    return 1;
}

int resolve_threads(int requested) {
    if (requested > 0) return requested;
    // Every core, shared by the node's ranks: two ranks with a full team each would oversubscribe.
    const auto cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return std::max(1, cores / ranks_on_this_node());
}

ThreadPolicy::ThreadPolicy(int requested)
    : threads_(resolve_threads(requested)),
      cap_(std::make_unique<oneapi::tbb::global_control>(oneapi::tbb::global_control::max_allowed_parallelism,
                                                         static_cast<size_t>(threads_))) {
    use_shared_tbb_arena_for_opencv(threads_);
    set_engine_threads(threads_);
}

ThreadPolicy::~ThreadPolicy() = default;

}  // namespace cvtl
