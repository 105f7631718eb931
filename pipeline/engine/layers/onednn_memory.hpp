#pragma once
// Binding plain (row-major) cv::Mat tensors to oneDNN memory in whatever layout a primitive chose.
#include "pipeline/engine/layers/precision.hpp"

#include <oneapi/dnnl/dnnl.hpp>

namespace cvtl {

// float32, dense row-major: "x", "nc"/"oi", "nchw"/"oihw", "goihw".
dnnl::memory::desc plain_desc(const dnnl::memory::dims& dims);

// The type of the operands (src, weights, diff_dst) a product runs on in `precision`.
inline dnnl::memory::data_type operand_type(Precision precision) {
    return precision == Precision::bf16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}

// A memory object without data; each call points it at the current tensor with set_data_handle().
dnnl::memory user_memory(const dnnl::memory::desc& desc);
dnnl::memory user_memory(const dnnl::memory::desc& desc, const void* data);

// One primitive argument whose user tensor is plain while the primitive may want a blocked layout.
// When the layouts differ it owns the scratch buffer and the reorder between them, both created once,
// so a call only moves data when it has to; when they match, the primitive works on the user tensor.
class Staged {
public:
    enum class Direction { to_primitive, to_user };

    Staged() = default;
    Staged(const dnnl::memory::desc& user, const dnnl::memory::desc& primitive, Direction direction);

    bool reorders() const { return static_cast<bool>(scratch_); }

    // to_primitive: the primitive's view of `data` (reordered into the scratch buffer when needed).
    dnnl::memory in(const void* data);
    // to_primitive: the view made by the last in(data), without reordering again (data unchanged since).
    dnnl::memory again(const void* data);
    // to_user: where the primitive writes; finish() then copies it into `data` when layouts differ.
    dnnl::memory out(void* data);
    void finish();

private:
    dnnl::memory user_;
    dnnl::memory scratch_;  // primitive layout; empty when it equals the user layout
    dnnl::reorder reorder_;
};

}  // namespace cvtl
