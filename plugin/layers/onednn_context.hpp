#pragma once
// The one oneDNN CPU engine and stream every layer runs on.
#include <oneapi/dnnl/dnnl.hpp>

namespace cvtl {

dnnl::engine& onednn_engine();
// In-order and synchronous on the OpenMP runtime; layers still wait() so results are ready on return.
dnnl::stream& onednn_stream();

// Sets the OpenMP thread count used by oneDNN's kernels and by the layers' own loops (threads >= 1).
// OpenMP keeps this per calling thread: call it from the thread that runs the layers.
void set_engine_threads(int threads);

}  // namespace cvtl
