#pragma once
// The two non-cryptographic hashes every seed and check in cvtl is made of, written once.
//   splitmix64 (Steele, Lea and Flood, 2014): the output of a SplitMix64 generator whose state is
//   x, i.e. x + the golden gamma, then a bijective mix with full avalanche. Seeds of views, splits,
//   shuffles and dropout masks are compositions of it.
//   fnv1a64: 64-bit FNV-1a of bytes; how a sample's path enters its seeds.
// (SHA-256, for identities that must not collide by design, is pipeline/core/sha256.hpp.)
#include <cstddef>
#include <cstdint>
#include <string>

namespace cvtl {

inline constexpr std::uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

inline std::uint64_t splitmix64(std::uint64_t x) {
    std::uint64_t z = x + kGoldenGamma;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

inline std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t h = 0xCBF29CE484222325ull) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) h = (h ^ bytes[i]) * 0x100000001B3ull;
    return h;
}

inline std::uint64_t fnv1a64(const std::string& bytes) { return fnv1a64(bytes.data(), bytes.size()); }

}  // namespace cvtl
