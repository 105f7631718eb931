#pragma once
// The arithmetic a network's matrix products (convolutions, fully connected layers) run in.
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// f32 everywhere, or bf16 operands with f32 accumulation, f32 outputs and f32 gradients of the weights
// (what oneDNN's AVX512-BF16 kernels do); element-wise layers, losses and optimizers stay f32 either way.
enum class Precision { f32, bf16 };

inline constexpr NameTable<Precision, 2> kPrecisionNames{{
    {Precision::f32, "f32"},
    {Precision::bf16, "bf16"},
}};

inline const char* to_string(Precision precision) { return name_in(kPrecisionNames, precision); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline Precision parse_precision(const std::string& text, const std::string& source = "") {
    return value_in(kPrecisionNames, text, "{precision}", source);
}

// Whether this CPU runs bf16 products natively (AVX512-BF16 or newer), detected at run time.
bool cpu_has_bf16();

// Throws cvtl::Error naming `who` when `precision` is bf16 and this CPU lacks AVX512-BF16.
void require_precision(Precision precision, const std::string& who);

}  // namespace cvtl
