#pragma once
// cvtl's fast path for running a VGG network forward: the layers of a NetworkSpec (built from a
// cv::dnn model by build_head) as oneDNN inference primitives, with activations kept in oneDNN's
// blocked layouts from layer to layer (reordered to plain NCHW only where an output is read),
// ReLU fused as a post-op, batch norm folded into the convolution before it, a residual add fused
// into the convolution before it where its operand is dead afterwards, activations sharing one
// arena by lifetime, and primitives created once per batch size and set of outputs. f32 matches stock cv::dnn within 1e-4; bf16 runs where the CPU has
// AVX512-BF16.
#include "pipeline/engine/weights.hpp"
#include "pipeline/engine/layers/precision.hpp"

#include <memory>
#include <string>
#include <vector>

namespace cvtl {

class InferenceNet {
public:
    // `weights` covers every parameter of `spec` (and batch-norm statistics). Throws cvtl::Error for
    // layers it cannot run (batch norm that does not follow a convolution) and for bf16 on a CPU
    // without AVX512-BF16.
    InferenceNet(const NetworkSpec& spec, const WeightMap& weights, Precision precision);
    ~InferenceNet();
    InferenceNet(const InferenceNet&) = delete;
    InferenceNet& operator=(const InferenceNet&) = delete;

    // input [N, input_shape...] f32 -> the outputs of layers `outputs` (indices into spec.layers,
    // the value after that layer), each f32 [N, ...] plain, in the order asked.
    std::vector<cv::Mat> forward(const cv::Mat& input, const std::vector<int>& outputs);

    // The oneDNN primitives the last forward() ran, and the bytes its activations occupy (one arena,
    // shared by activations whose lifetimes do not overlap): what fusion and reuse saved.
    std::size_t planned_steps() const;
    std::size_t activation_bytes() const;

private:
    struct Plan;
    class PlanBuilder;
    std::unique_ptr<Plan> plan_for(int n, const std::vector<int>& outputs);

    NetworkSpec spec_;
    WeightMap weights_;
    Precision precision_;
    std::unique_ptr<Plan> plan_;
};

}  // namespace cvtl
