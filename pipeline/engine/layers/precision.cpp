#include "pipeline/engine/layers/precision.hpp"

#include "pipeline/core/error.hpp"

#include <oneapi/dnnl/dnnl.hpp>

namespace cvtl {

bool cpu_has_bf16() {
    const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

void require_precision(Precision precision, const std::string& who) {
    if (precision == Precision::bf16 && !cpu_has_bf16())
        throw Error(who + ": bf16 needs a CPU with AVX512-BF16, which this one lacks; use {precision} f32");
}

}  // namespace cvtl
