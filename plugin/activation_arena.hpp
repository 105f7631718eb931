#pragma once
// Where a fast-path plan keeps its activations: one arena, with each activation at an offset chosen
// so that two activations share bytes only when their lifetimes do not overlap. A ResNet-50 plan
// holds about 160 activations, but at any step only the few its live branches still read; giving
// each its own buffer doubled extraction's memory against PyTorch's and spread the working set over
// more cache than needed.
#include <cstddef>
#include <vector>

namespace cvtl {

// One activation: its size and the steps that write or read it, first..last inclusive.
struct ActivationLifetime {
    std::size_t bytes = 0;
    int first = 0, last = 0;
};

struct ArenaLayout {
    std::vector<std::size_t> offsets;  // per lifetime, in the order given; multiples of kArenaAlignment
    std::size_t bytes = 0;             // the arena's size
};

inline constexpr std::size_t kArenaAlignment = 64;  // a cache line and an AVX-512 register

// Greedy by size: the largest activations are placed first, each at the lowest offset where it
// overlaps no placed activation whose lifetime meets its own.
ArenaLayout lay_out_arena(const std::vector<ActivationLifetime>& lifetimes);

}  // namespace cvtl
