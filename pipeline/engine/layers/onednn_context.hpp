#pragma once
// The oneDNN CPU engine every layer runs on, and the calling thread's stream.
#include <oneapi/dnnl/dnnl.hpp>

namespace cvtl {

dnnl::engine& onednn_engine();
// The calling thread's stream: a dnnl::stream may not be used by two threads at once, and the trainer,
// fast-path plans moved between oneTBB threads and any app's LayerFactory convolutions all execute
// primitives. In-order and synchronous on the OpenMP runtime; layers still wait() so results are
// ready on return.
dnnl::stream& onednn_stream();

// Sets the OpenMP thread count used by oneDNN's kernels and by the layers' own loops (threads >= 1).
// OpenMP keeps this per calling thread: call it from the thread that runs the layers.
void set_engine_threads(int threads);

// oneDNN 2.6's bf16 kernels return with the upper halves of the vector registers in use (no vzeroupper),
// so the plain loops that run next on those threads (SSE code: optimizer, ReLU masks, dropout) pay a
// transition penalty: the optimizer's step measured 4.5x slower. Clears that state on every thread of
// the calling thread's OpenMP team; call after executing bf16 primitives. A no-op without AVX.
void clear_vector_upper_state();

}  // namespace cvtl
