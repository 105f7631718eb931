#include "pipeline/engine/layers/onednn_memory.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"

#include <string>

namespace cvtl {

using tag = dnnl::memory::format_tag;

dnnl::memory::desc plain_desc(const dnnl::memory::dims& dims) {
    switch (dims.size()) {
        case 1:
            return {dims, dnnl::memory::data_type::f32, tag::a};
        case 2:
            return {dims, dnnl::memory::data_type::f32, tag::ab};
        case 4:
            return {dims, dnnl::memory::data_type::f32, tag::abcd};
        case 5:  // grouped convolution weights [G, O/G, I/G, k, k]
            return {dims, dnnl::memory::data_type::f32, tag::abcde};
        default:
            throw Error("plain_desc expects 1, 2, 4 or 5 dimensions, found " + std::to_string(dims.size()));
    }
}

dnnl::memory user_memory(const dnnl::memory::desc& desc) { return {desc, onednn_engine(), DNNL_MEMORY_NONE}; }

dnnl::memory user_memory(const dnnl::memory::desc& desc, const void* data) {
    return {desc, onednn_engine(), const_cast<void*>(data)};
}

Staged::Staged(const dnnl::memory::desc& user, const dnnl::memory::desc& primitive, Direction direction)
    : user_(user_memory(user)) {
    if (user == primitive) return;
    scratch_ = dnnl::memory(primitive, onednn_engine());
    reorder_ = direction == Direction::to_primitive ? dnnl::reorder(user_, scratch_) : dnnl::reorder(scratch_, user_);
}

dnnl::memory Staged::in(const void* data) {
    user_.set_data_handle(const_cast<void*>(data));
    if (!scratch_) return user_;
    reorder_.execute(onednn_stream(), user_, scratch_);
    return scratch_;
}

dnnl::memory Staged::again(const void* data) {
    if (scratch_) return scratch_;
    user_.set_data_handle(const_cast<void*>(data));
    return user_;
}

dnnl::memory Staged::out(void* data) {
    user_.set_data_handle(data);
    return scratch_ ? scratch_ : user_;
}

void Staged::finish() {
    if (scratch_) reorder_.execute(onednn_stream(), scratch_, user_);
}

}  // namespace cvtl
