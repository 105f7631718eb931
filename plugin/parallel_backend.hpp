#pragma once

namespace cvtl {

// Makes OpenCV's parallel loops (cv::parallel_for_, used by every cv::dnn layer) run as oneTBB
// tasks in the *calling thread's* arena instead of OpenCV's private arena. A cv::dnn forward pass
// started inside cvtl's pipeline then shares one pool of `threads` threads with decoding and
// writing: no oversubscription, and no thread left waiting in one arena while the other has work.
// Call before any OpenCV work runs on other threads (OpenCV's own rule for switching backends).
void use_shared_tbb_arena_for_opencv(int threads);

}  // namespace cvtl
