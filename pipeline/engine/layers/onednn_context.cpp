#include "pipeline/engine/layers/onednn_context.hpp"

#include "pipeline/core/error.hpp"

#include <omp.h>

#include <string>

namespace cvtl {

dnnl::engine& onednn_engine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

dnnl::stream& onednn_stream() {
    thread_local dnnl::stream stream(onednn_engine());
    return stream;
}

void set_engine_threads(int threads) {
    if (threads < 1) throw Error("set_engine_threads expects at least 1 thread, found " + std::to_string(threads));
    omp_set_num_threads(threads);
}

#if defined(__x86_64__)
namespace {
__attribute__((target("avx"))) void zero_upper() { __builtin_ia32_vzeroupper(); }
}  // namespace
#endif

void clear_vector_upper_state() {
#if defined(__x86_64__)
    static const bool has_avx = __builtin_cpu_supports("avx");
    if (!has_avx) return;
#pragma omp parallel
    zero_upper();
#endif
}

}  // namespace cvtl
