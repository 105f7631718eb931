#pragma once
// The storage type of a cache's taps (the cache's `dtype` attribute, cache_format.hpp).
#include "pipeline/core/vocabulary.hpp"

#include <cstddef>
#include <string>

namespace cvtl {

// f32, or f16: half the disk, an 11-bit mantissa; read back as f32 either way.
enum class Dtype { f32, f16 };

inline constexpr NameTable<Dtype, 2> kDtypeNames{{
    {Dtype::f32, "f32"},
    {Dtype::f16, "f16"},
}};

inline const char* to_string(Dtype dtype) { return name_in(kDtypeNames, dtype); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline Dtype parse_dtype(const std::string& text, const std::string& source = "") {
    return value_in(kDtypeNames, text, "{dtype}", source);
}

inline std::size_t dtype_bytes(Dtype dtype) { return dtype == Dtype::f16 ? 2 : 4; }

}  // namespace cvtl
