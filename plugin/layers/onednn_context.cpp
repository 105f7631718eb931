#include "plugin/layers/onednn_context.hpp"

#include "plugin/error.hpp"

#include <omp.h>

#include <string>

namespace cvtl {

dnnl::engine& onednn_engine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

dnnl::stream& onednn_stream() {
    static dnnl::stream stream(onednn_engine());
    return stream;
}

void set_engine_threads(int threads) {
    if (threads < 1) throw Error("set_engine_threads expects at least 1 thread, found " + std::to_string(threads));
    omp_set_num_threads(threads);
}

}  // namespace cvtl
